/**
 * The scoring loop SimCLIP and the text-prompt baselines (CLIP-AC, CoOp, CoCoOp, AnomalyCLIP) share:
 * the batch goes through the model a few images at a time, each chunk giving its summed per-layer
 * maps and text probabilities; the maps are then split per image and, for sigma > 0, smoothed with
 * a Gaussian filter of the method's sigma (SimCLIP 7, AnomalyCLIP 4: docs/baselines-provenance.md).
 */
import { gaussianFilter } from "./gaussian.js";
import type { FeatureBatch, ImageFeatures, MethodOutput } from "./types.js";

/** Images per forward pass: bounds the wasm heap (one chunk's [n*P, W] tokens per layer at a time). */
export const SCORE_CHUNK = 8;

/**
 * One chunk's unsmoothed summed maps [n * size * size] and anomaly probabilities [n]; optionally
 * each hooked layer's unsmoothed map [n * size * size], smoothed here like the sum.
 */
export type ChunkScorer = (features: ImageFeatures[], categories: string[]) => Promise<{ sum: Float32Array; prob: Float32Array; layers?: Float32Array[] }>;

export async function scoreInChunks(batch: FeatureBatch, size: number, sigma: number, scoreChunk: ChunkScorer): Promise<MethodOutput> {
  const S = size;
  const maps: Float32Array[] = [];
  const layerMaps: Float32Array[][] = [];
  const scores = new Float32Array(batch.features.length);
  const smooth = (all: Float32Array, i: number) => {
    const raw = all.slice(i * S * S, (i + 1) * S * S);
    return sigma > 0 ? gaussianFilter(raw, S, S, sigma) : raw;
  };
  for (let start = 0; start < batch.features.length; start += SCORE_CHUNK) {
    const features = batch.features.slice(start, start + SCORE_CHUNK);
    const { sum, prob, layers } = await scoreChunk(features, batch.categories.slice(start, start + SCORE_CHUNK));
    scores.set(prob, start);
    for (let i = 0; i < features.length; i++) {
      maps.push(smooth(sum, i));
      if (layers) layerMaps.push(layers.map((l) => smooth(l, i)));
    }
  }
  return { size: S, maps, scores, ...(layerMaps.length > 0 ? { layerMaps } : {}) };
}
