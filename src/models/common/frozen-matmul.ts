/**
 * The two big products of a linear adapter on frozen features, on onnxruntime instead of tfjs-wasm
 * (docs/performance.md: ~195 vs ~25 GFLOP/s on this kind of machine):
 *   forward   Y  = X W        [n, k] @ [k, m]
 *   backward  dW = X^T dY     [n, k]^T @ [n, m]   (X is frozen: dL/dX is never needed)
 * Everything after Y (normalisation, maps, losses) stays on tfjs for automatic differentiation.
 * One session per graph, with symbolic sizes, created on first use and kept for the process.
 */
import type { InferenceSession } from "onnxruntime-node";
import { OnnxGraphBuilder } from "../../clip/onnx/graph-builder.js";
import { createOrtSession, ort } from "../../clip/ort-executor.js";
import { ShapeError } from "../../errors.js";

let forward: Promise<InferenceSession> | undefined;
let backward: Promise<InferenceSession> | undefined;

function session(transposeA: boolean): Promise<InferenceSession> {
  const b = new OnnxGraphBuilder(transposeA ? "frozen_matmul_ta" : "frozen_matmul");
  const a = b.input("a", "float32", ["n", "k"]);
  const c = b.input("b", "float32", [transposeA ? "n" : "k", "m"]);
  // ORT fuses Transpose + MatMul into one FusedMatMul(transA), so X^T is never materialised.
  b.output(b.matmul(transposeA ? b.transpose(a, [1, 0]) : a, c), "y", [transposeA ? "k" : "n", "m"]);
  return createOrtSession(b.toBytes());
}

async function run(s: Promise<InferenceSession>, a: Float32Array, aShape: [number, number], b: Float32Array, bShape: [number, number]): Promise<Float32Array> {
  const sess = await s;
  const out = await sess.run({ a: new ort.Tensor("float32", a, aShape), b: new ort.Tensor("float32", b, bShape) });
  return out.y!.data as Float32Array;
}

/** X [n, k] @ W [k, m] -> [n, m]. */
export async function frozenMatMul(x: Float32Array, n: number, k: number, w: Float32Array, m: number): Promise<Float32Array> {
  if (x.length !== n * k || w.length !== k * m) throw new ShapeError(`frozenMatMul: X has ${x.length} values for [${n}, ${k}], W ${w.length} for [${k}, ${m}]`);
  forward ??= session(false);
  return run(forward, x, [n, k], w, [k, m]);
}

/** X^T dY: X [n, k], dY [n, m] -> [k, m]. */
export async function frozenMatMulTransposedA(x: Float32Array, n: number, k: number, dy: Float32Array, m: number): Promise<Float32Array> {
  if (x.length !== n * k || dy.length !== n * m)
    throw new ShapeError(`frozenMatMulTransposedA: X has ${x.length} values for [${n}, ${k}], dY ${dy.length} for [${n}, ${m}]`);
  backward ??= session(true);
  return run(backward, x, [n, k], dy, [n, m]);
}
