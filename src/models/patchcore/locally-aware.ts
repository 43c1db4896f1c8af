/**
 * PatchCore's locally aware patch features (Roth et al. 2022, Sec. 3.1): each patch feature is the
 * average over its 3 x 3 neighbourhood on the feature grid (anomalib: AvgPool2d(3, stride 1,
 * padding 1), zero padding counted, i.e. always divided by 9), then the hooked layers' features are
 * concatenated along the channels (anomalib's `generate_embedding`; all CLIP layers share one grid, so
 * no resizing is needed).
 */
import { ShapeError } from "../../errors.js";
import type { ImageFeatures } from "../common/types.js";

/** 3 x 3 average pooling (stride 1, zero padding 1, divisor 9) of a [g, g, w] row-major grid. */
export function neighbourhoodAverage(tokens: Float32Array, grid: number, width: number): Float32Array {
  if (tokens.length !== grid * grid * width) throw new ShapeError(`neighbourhoodAverage: ${tokens.length} values, expected ${grid}x${grid}x${width}`);
  const out = new Float32Array(tokens.length);
  for (let y = 0; y < grid; y++) {
    for (let x = 0; x < grid; x++) {
      const o = (y * grid + x) * width;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= grid) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= grid) continue;
          const s = (yy * grid + xx) * width;
          for (let k = 0; k < width; k++) out[o + k]! += tokens[s + k]!;
        }
      }
      for (let k = 0; k < width; k++) out[o + k]! /= 9;
    }
  }
  return out;
}

/** [P, layers.length * W]: per patch, the pooled features of each layer side by side. */
export function locallyAwareFeatures(f: ImageFeatures, layers: number[]): Float32Array {
  const P = f.grid * f.grid;
  const W = f.width;
  const D = layers.length * W;
  const out = new Float32Array(P * D);
  layers.forEach((layer, li) => {
    const t = f.patchTokens.get(layer);
    if (!t)
      throw new ShapeError(`PatchCore: cached features have no layer ${layer} (they hold ${[...f.patchTokens.keys()].join(", ")}): rebuild the cache with it`);
    const pooled = neighbourhoodAverage(t, f.grid, W);
    for (let p = 0; p < P; p++) out.set(pooled.subarray(p * W, (p + 1) * W), p * D + li * W);
  });
  return out;
}
