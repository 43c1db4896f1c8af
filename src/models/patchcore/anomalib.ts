/**
 * The parts of anomalib's PatchCore (src/anomalib/models/image/patchcore, components/sampling,
 * components/dimensionality_reduction, components/filters; checked at commit 161bb3695) that the
 * WideResNet variant follows and the CLIP-feature variant (model.ts) does not:
 *
 * - coreset (`KCenterGreedy`): size int(n * ratio); the greedy search runs on anomalib's
 *   `SparseRandomProjection(eps=0.9)` of the features, with Johnson-Lindenstrauss' dimension
 *   int(4 ln n / (eps²/2 - eps³/3)) and Li et al.'s very sparse matrix (density 1 / sqrt(d), entries
 *   ±sqrt(1 / density) / sqrt(k)); a random start point seeds the distances but is not itself kept.
 *   Our random numbers are not torch's, so the chosen rows differ from anomalib's for the same seed;
 *   the distribution of the matrix and the selection rule are the same. Edge cases anomalib does not
 *   handle are defined here: at least one row is kept, and ratio 1 keeps every row (anomalib's loop
 *   would repeat a row and drop the start point).
 * - map (`AnomalyMapGenerator`): patch scores resized to the image size with F.interpolate's default
 *   mode, **nearest** (legacy: source index floor(dst * float32(in / out))), then `GaussianBlur2d`
 *   with sigma 4: kernel side 2 int(4 sigma + 0.5) + 1, normalised, torch "reflect" padding (the edge
 *   sample is not repeated: c b | a b c; scipy's "reflect", used by the other methods, repeats it).
 */
import { InvalidArgumentError } from "../../errors.js";
import { createRng } from "../common/init.js";
import { greedyCoreset } from "./coreset.js";

/** anomalib `SparseRandomProjection._johnson_lindenstrauss_min_dim(n, eps)`. */
export function johnsonLindenstraussMinDim(n: number, eps = 0.9): number {
  return Math.trunc((4 * Math.log(n)) / (eps ** 2 / 2 - eps ** 3 / 3));
}

/**
 * x [n, d] @ anomalib's very sparse random matrix^T -> [n, k], k = johnsonLindenstraussMinDim(n).
 * Each of the k components takes each feature with probability 1 / sqrt(d) (a Binomial(d, density)
 * count at uniformly random positions, as anomalib draws it) with a random sign.
 */
export function sparseRandomProjection(x: Float32Array, n: number, d: number, seed: number, eps = 0.9): { out: Float32Array; k: number } {
  const k = Math.max(1, johnsonLindenstraussMinDim(n, eps));
  const density = 1 / Math.sqrt(d);
  const scale = Math.sqrt(1 / density) / Math.sqrt(k);
  const rng = createRng("patchcore-sparse-projection", seed);
  const out = new Float32Array(n * k);
  const idx: number[] = [];
  const sign: number[] = [];
  for (let c = 0; c < k; c++) {
    idx.length = 0;
    sign.length = 0;
    for (let j = 0; j < d; j++) {
      if (density >= 1 || rng.next() < density) {
        idx.push(j);
        sign.push(rng.next() < 0.5 ? -scale : scale);
      }
    }
    for (let i = 0; i < n; i++) {
      let s = 0;
      const row = i * d;
      for (let t = 0; t < idx.length; t++) s += x[row + idx[t]!]! * sign[t]!;
      out[i * k + c] = s;
    }
  }
  return { out, k };
}

/** anomalib's coreset size for n rows: int(n * ratio), at least 1. */
export function anomalibCoresetSize(n: number, ratio: number): number {
  return Math.max(1, Math.min(n, Math.trunc(n * ratio)));
}

/**
 * Row indices of x [n, d] kept by anomalib's KCenterGreedy at `ratio` (every row when the size is n):
 * farthest-first on the sparse projection, from a random start point that is not itself kept.
 */
export function anomalibCoreset(x: Float32Array, n: number, d: number, ratio: number, seed: number): number[] {
  if (!(ratio > 0 && ratio <= 1)) throw new InvalidArgumentError(`coreset ratio must be in (0, 1], got ${ratio}`);
  const count = anomalibCoresetSize(n, ratio);
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  const { out, k } = sparseRandomProjection(x, n, d, seed);
  const start = createRng("patchcore-coreset-start", seed).int(n);
  return greedyCoreset(out, n, k, count + 1, start).slice(1);
}

/** torch F.interpolate(mode="nearest") source indices (legacy nearest, float32 scale as ATen computes it). */
export function nearestIndices(inSize: number, outSize: number): Int32Array {
  const out = new Int32Array(outSize);
  const scale = Math.fround(inSize / outSize);
  for (let i = 0; i < outSize; i++) {
    if (outSize === inSize) out[i] = i;
    else if (outSize === 2 * inSize) out[i] = i >> 1;
    else out[i] = Math.min(Math.floor(Math.fround(Math.fround(i) * scale)), inSize - 1);
  }
  return out;
}

/** kornia's normalised 1-D Gaussian of anomalib's kernel size for sigma. */
export function anomalibGaussianKernel(sigma: number): Float64Array {
  const size = 2 * Math.trunc(4 * sigma + 0.5) + 1;
  const k = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = i - Math.floor(size / 2);
    k[i] = Math.exp(-(x * x) / (2 * sigma * sigma));
    sum += k[i]!;
  }
  for (let i = 0; i < size; i++) k[i]! /= sum;
  return k;
}

/** torch "reflect" padding's source index (edge not repeated), for any offset. */
function reflectTorch(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

/** anomalib `GaussianBlur2d(sigma)` of a row-major [h, w] map (separable; the 2-D kernel is the outer product). */
export function anomalibBlur(map: Float32Array, h: number, w: number, sigma: number): Float32Array {
  const k = anomalibGaussianKernel(sigma);
  const r = (k.length - 1) / 2;
  const tmp = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let t = 0; t < k.length; t++) s += k[t]! * map[y * w + reflectTorch(x + t - r, w)]!;
      tmp[y * w + x] = s;
    }
  }
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let t = 0; t < k.length; t++) s += k[t]! * tmp[reflectTorch(y + t - r, h) * w + x]!;
      out[y * w + x] = s;
    }
  }
  return out;
}

/** anomalib `AnomalyMapGenerator`: [grid, grid] patch scores -> [size, size] (nearest resize, then the blur; sigma 0: no blur). */
export function anomalibAnomalyMap(patchScores: Float32Array, grid: number, size: number, sigma: number): Float32Array {
  if (patchScores.length !== grid * grid) throw new InvalidArgumentError(`anomaly map: ${patchScores.length} patch scores, expected ${grid}x${grid}`);
  const src = nearestIndices(grid, size);
  const up = new Float32Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) up[y * size + x] = patchScores[src[y]! * grid + src[x]!]!;
  return sigma > 0 ? anomalibBlur(up, size, size, sigma) : up;
}
