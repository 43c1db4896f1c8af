/**
 * Bilinear upsampling of patch-grid maps to the input size, as PyTorch's
 * `F.interpolate(mode="bilinear")` does it (the peers upsample with align_corners=True).
 *
 * Bilinear resizing is separable and linear: out = U X U^T with U the [S, g] interpolation matrix.
 * Applying it as two plain matMuls (no transposed operands: tfjs-wasm is 10-30x slower with them) is
 * what keeps training fast at 518 x 518 (docs/performance.md), and it is differentiable for free.
 */
import { tf } from "../../tf.js";
import { InvalidArgumentError } from "../../errors.js";

/** The [out, in] row-major interpolation matrix of PyTorch's 1-D linear resize. */
export function bilinearMatrix(outSize: number, inSize: number, alignCorners: boolean): Float32Array {
  if (!(Number.isInteger(outSize) && outSize > 0 && Number.isInteger(inSize) && inSize > 0)) {
    throw new InvalidArgumentError(`bilinearMatrix: sizes must be positive integers, got out=${outSize}, in=${inSize}`);
  }
  const m = new Float32Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    let src: number;
    if (alignCorners) src = outSize > 1 ? (i * (inSize - 1)) / (outSize - 1) : 0;
    else src = Math.max(((i + 0.5) * inSize) / outSize - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const w = src - i0;
    m[i * inSize + i0] += 1 - w;
    m[i * inSize + i1] += w;
  }
  return m;
}

const matrices = new Map<string, { u: tf.Tensor2D; ut: tf.Tensor2D }>();

/** U [S, g] and U^T [g, S] as kept tensors, cached per (g, S, alignCorners): every batch reuses them. */
function interpolation(g: number, size: number, alignCorners: boolean): { u: tf.Tensor2D; ut: tf.Tensor2D } {
  const key = `${g}x${size}x${alignCorners}`;
  let m = matrices.get(key);
  if (!m) {
    const u = bilinearMatrix(size, g, alignCorners);
    const ut = new Float32Array(g * size);
    for (let i = 0; i < size; i++) for (let j = 0; j < g; j++) ut[j * size + i] = u[i * g + j]!;
    m = { u: tf.keep(tf.tensor2d(u, [size, g])), ut: tf.keep(tf.tensor2d(ut, [g, size])) };
    matrices.set(key, m);
  }
  return m;
}

/** X' = X^T per image, for [n, a, b] -> [n * b, a] (the row-major layout the next matMul wants). */
function transposedRows(x: tf.Tensor, n: number, a: number, b: number): tf.Tensor2D {
  return tf.reshape(tf.transpose(tf.reshape(x, [n, a, b]), [0, 2, 1]), [n * b, a]);
}

/**
 * [n, g, g] maps -> [n, S, S]: out = U X U^T. Forward: rows first on the transposed grid, then
 * columns, so both products are (big operand) @ U^T and the result comes out untransposed. The
 * gradient U^T G U is written by hand the same way ((G U)^T U, transposed back on the small grid):
 * autodiff would use transposed-operand matMuls, the slow path on tfjs-wasm.
 */
export function upsampleBilinear(maps: tf.Tensor3D, size: number, alignCorners = true): tf.Tensor3D {
  const [n, gh, gw] = maps.shape;
  if (gh !== gw) throw new InvalidArgumentError(`upsampleBilinear: square grids only, got ${gh} x ${gw}`);
  const g = gh;
  const { u, ut } = interpolation(g, size, alignCorners);
  const f = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = inputs[0] as tf.Tensor3D;
    // [n, x, y] @ U^T over y -> [n, x, Y]; transpose -> [n, Y, x]; @ U^T over x -> [n, Y, X].
    const a = tf.matMul(transposedRows(x, n, g, g), ut);
    const value = tf.reshape(tf.matMul(transposedRows(a, n, g, size), ut), [n, size, size]) as tf.Tensor3D;
    return {
      value,
      gradFunc: (dy: tf.Tensor3D) => {
        const gu = tf.matMul(tf.reshape(dy, [n * size, size]), u); // [n, Y, x]
        const b = tf.matMul(transposedRows(gu, n, size, g), u); // [n, x, y]
        return tf.transpose(tf.reshape(b, [n, g, g]), [0, 2, 1]);
      },
    };
  });
  return f(maps) as tf.Tensor3D;
}

/** The same on plain arrays (for code paths without tfjs, e.g. few-shot maps): one [g*g] map -> [S*S]. */
export function upsampleBilinearArray(map: Float32Array, g: number, size: number, alignCorners = true): Float32Array {
  if (map.length !== g * g) throw new InvalidArgumentError(`upsampleBilinearArray: map has ${map.length} values, expected ${g}x${g}`);
  const u = bilinearMatrix(size, g, alignCorners);
  const rows = new Float64Array(size * g); // [Y, x]
  for (let y = 0; y < size; y++) {
    for (let j = 0; j < g; j++) {
      const w = u[y * g + j]!;
      if (w === 0) continue;
      for (let x = 0; x < g; x++) rows[y * g + x]! += w * map[j * g + x]!;
    }
  }
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let s = 0;
      for (let j = 0; j < g; j++) s += rows[y * g + j]! * u[x * g + j]!;
      out[y * size + x] = s;
    }
  }
  return out;
}
