/**
 * The map-and-score step shared by the prompt-based baselines (CLIP-AC, APRIL-GAN, AnomalyCLIP,
 * CoOp/CoCoOp): per hooked layer, patch features in the joint space vs the class's (normal,
 * anomalous) prompt embeddings, 100 x cosine, bilinear upsampling (align_corners = True), two-way
 * softmax, anomalous channel, summed over layers (APRIL-GAN's test.py; SimCLIP's Eq. 6 does the
 * same). The two-way softmax is computed as a sigmoid of the upsampled logit difference, exactly as
 * `simclip/maps.ts` does. AnomalyCLIP's (p1 + 1 - p0) / 2 equals p1 for a two-way softmax; its order differs
 * (softmax on the grid, then align_corners false: `mapOrder`).
 */
import { tf } from "../../tf.js";
import { stackLayerTokens } from "../common/features.js";
import type { ImageFeatures } from "../common/types.js";
import { l2NormalizeRows, logitDifferenceGrid, promptProbability } from "./maps.js";

export interface PromptMapGeometry {
  size: number;
  grid: number;
  layers: number[];
  logitScale: number;
  /** Softmax after upsampling (default, align_corners true) or on the grid before it (AnomalyCLIP's `promptProbability`). */
  mapOrder?: "logits" | "grid-softmax";
}

/** Patch tokens of one layer [rows, W] (frozen, as a flat array) -> joint-space features [rows, E]. */
export type PatchProjector = (layer: number, tokens: Float32Array, rows: number, width: number) => Promise<tf.Tensor2D>;

/**
 * Summed anomaly-probability maps [n * S * S] (unsmoothed) of n images, given per-image prompt
 * differences `diff` [n, E] = (anomalous - normal) of the normalised prompt embeddings.
 */
export async function summedPromptMaps(features: ImageFeatures[], diff: tf.Tensor2D, g: PromptMapGeometry, project: PatchProjector): Promise<Float32Array> {
  const n = features.length;
  const P = g.grid * g.grid;
  let sum: tf.Tensor | null = null;
  try {
    for (const layer of g.layers) {
      const adapted = await project(layer, stackLayerTokens(features, layer), n * P, features[0]!.width);
      const p = tf.tidy(() => promptProbability(logitDifferenceGrid(adapted, diff, g.logitScale, g.grid), g.size, g.mapOrder ?? "logits"));
      adapted.dispose();
      const next: tf.Tensor = sum ? tf.add(sum, p) : p;
      if (sum) tf.dispose([sum, p]);
      sum = next;
    }
    return (await sum!.data()) as Float32Array;
  } finally {
    if (sum) sum.dispose();
  }
}

/**
 * Zero-shot image score: softmax(scale x cos(image embedding, prompts))[anomalous] (APRIL-GAN's
 * `text_probs[:, 0, 1]`). imageEmbeds [n, E] (not yet normalised), pairs [n, 2, E] normalised.
 */
export function textAnomalyProbability(imageEmbeds: tf.Tensor2D, pairs: tf.Tensor3D, scale: number): tf.Tensor1D {
  return tf.tidy(() => {
    const n = imageEmbeds.shape[0];
    const img = l2NormalizeRows(imageEmbeds);
    const logits = tf.mul(tf.sum(tf.mul(tf.expandDims(img, 1), pairs), 2), scale);
    return tf.reshape(tf.slice(tf.softmax(logits, 1), [0, 1], [n, 1]), [n]) as tf.Tensor1D;
  });
}
