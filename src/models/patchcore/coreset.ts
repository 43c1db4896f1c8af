/**
 * PatchCore's greedy coreset subsampling (Roth et al. 2022, Algorithm 1; anomalib KCenterGreedy):
 * iteratively add the memory feature farthest (Euclidean) from everything selected so far, which
 * approximately minimises the largest distance from any feature to its nearest selected one.
 * The search runs on a random projection of the features (the paper's Johnson-Lindenstrauss step;
 * anomalib uses a sparse projection, here a seeded Gaussian one, `projectionDim` 0 = exact features).
 * Unlike anomalib, whose random start point is used for the distances but not kept, the start point
 * is the first selected feature (the paper's algorithm).
 */
import { InvalidArgumentError } from "../../errors.js";
import { createRng } from "../common/init.js";

/** x [n, d] @ a seeded N(0, 1/k) matrix [d, k] -> [n, k]. */
export function randomProjection(x: Float32Array, n: number, d: number, k: number, seed: number): Float32Array {
  const rng = createRng("patchcore-projection", seed);
  const r = new Float32Array(d * k);
  const s = 1 / Math.sqrt(k);
  for (let i = 0; i < r.length; i++) r[i] = rng.normal() * s;
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      const v = x[i * d + a]!;
      if (v === 0) continue;
      for (let j = 0; j < k; j++) out[i * k + j]! += v * r[a * k + j]!;
    }
  }
  return out;
}

/**
 * Indices of `count` rows of x [n, d] chosen greedily, starting from `start`. Ties in the farthest
 * distance go to the lowest index (as torch.argmax).
 */
export function greedyCoreset(x: Float32Array, n: number, d: number, count: number, start: number): number[] {
  if (!(Number.isInteger(count) && count >= 1 && count <= n)) throw new InvalidArgumentError(`coreset size ${count} must be in 1..${n}`);
  const minDist = new Float64Array(n).fill(Infinity);
  const selected: number[] = [];
  let idx = start;
  for (;;) {
    selected.push(idx);
    if (selected.length === count) return selected;
    const c = idx * d;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) {
        const t = x[i * d + k]! - x[c + k]!;
        s += t * t;
      }
      if (s < minDist[i]!) minDist[i] = s;
    }
    // Selected rows are marked below any distance, so duplicates of them are still pickable but they are not.
    for (const j of selected) minDist[j] = -1;
    let best = -1;
    for (let i = 0; i < n; i++) if (best < 0 || minDist[i]! > minDist[best]!) best = i;
    idx = best;
  }
}
