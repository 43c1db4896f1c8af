/**
 * Prior-aware optimisation, paper Algorithm 1: each query patch's nearest memory feature f_l is put
 * through the trained adapter and refined prompts (its zero-shot map M_l,zero(f_l), a "normal" prior),
 * weighted by the nearest-neighbour similarity D_l, and subtracted from the query's own zero-shot map:
 *   M'_l = M_l,zero(F_l) - D_l * M_l,zero(f_l),   M_zero^prior = sum_l M'_l.
 *
 * Details the paper leaves open, from the authors' released code (docs/simclip-plus.md):
 * - everything happens on the patch grid (the softmax before any upsampling);
 * - D_l = (1 + cos) / 2, the similarity in [0, 1];
 * - the sum is clipped to [0, 4] (a constant there, whatever the number of layers), then upsampled
 *   bilinearly (align_corners = True) and smoothed with a Gaussian (sigma 7);
 * - the released code weights every layer's prior by the LAST layer's similarity only
 *   (`weighting: "last-layer"`, default); the paper weights each layer by its own D_l (`"per-layer"`).
 */
import { InvalidArgumentError, ShapeError } from "../../errors.js";
import { gaussianFilter } from "../common/gaussian.js";
import { upsampleBilinearArray } from "../common/upsample.js";

export type PriorWeighting = "per-layer" | "last-layer";

/** One hooked layer's inputs to Algorithm 1 for one query image. */
export interface PriorLayerInput {
  /** [P] M_l,zero(F_l): the query patches' anomaly probability on the grid. */
  queryProb: Float32Array;
  /** [m] M_l,zero(f) of every memory feature f (computed once per gallery: it does not depend on the query). */
  memoryProb: Float32Array;
  /** [P] index of each query patch's nearest memory feature. */
  index: Int32Array;
  /** [P] D_l = (1 + cos) / 2 to that neighbour. */
  similarity: Float32Array;
}

/** (1 + cos) / 2: cosine similarity mapped to [0, 1]. */
export function neighbourSimilarity(maxCos: Float32Array): Float32Array {
  return maxCos.map((c) => (1 + c) * 0.5);
}

/** The released code's upper clip of the summed prior-aware map (`np.clip(..., 0, 4)`). */
const PRIOR_CLIP_MAX = 4;

/** M_zero^prior on the patch grid, clipped to [0, 4]. Layers in hooked order (the last is the deepest). */
export function priorAwareGrid(layers: PriorLayerInput[], weighting: PriorWeighting = "last-layer"): Float32Array {
  const last = layers[layers.length - 1];
  if (!last) throw new ShapeError("priorAwareGrid: expected one input per hooked layer, got none");
  if (weighting !== "per-layer" && weighting !== "last-layer") {
    throw new InvalidArgumentError(`prior weighting must be "per-layer" (paper) or "last-layer" (released code), got ${JSON.stringify(weighting)}`);
  }
  const P = last.queryProb.length;
  const out = new Float32Array(P);
  for (const [l, layer] of layers.entries()) {
    const { queryProb, memoryProb, index } = layer;
    if (queryProb.length !== P || index.length !== P || layer.similarity.length !== P) {
      throw new ShapeError(
        `priorAwareGrid: layer ${l} has ${queryProb.length} query probabilities, ${index.length} indices and ${layer.similarity.length} similarities, expected ${P} each`,
      );
    }
    const w = weighting === "per-layer" ? layer.similarity : last.similarity;
    for (let p = 0; p < P; p++) {
      const j = index[p]!;
      if (!(j >= 0 && j < memoryProb.length))
        throw new ShapeError(`priorAwareGrid: layer ${l} neighbour index ${j} outside the memory of ${memoryProb.length}`);
      out[p]! += queryProb[p]! - w[p]! * memoryProb[j]!;
    }
  }
  for (let p = 0; p < P; p++) out[p] = Math.min(Math.max(out[p]!, 0), PRIOR_CLIP_MAX);
  return out;
}

/** The clipped grid [g*g] upsampled to [size*size] (bilinear, align_corners = true), then Gaussian (sigma 0 = none). */
export function priorAwareMap(grid: Float32Array, g: number, size: number, sigma: number): Float32Array {
  const up = upsampleBilinearArray(grid, g, size, true);
  return sigma > 0 ? gaussianFilter(up, size, size, sigma) : up;
}
