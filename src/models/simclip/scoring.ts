/**
 * SimCLIP's test-time scoring (authors' code, peer-conventions.md):
 * - map: per hooked layer, softmax over the two refined prompts of 100 x cos (Eq. 6) upsampled to
 *   S x S (align_corners = True), anomalous channel; summed over layers (paper: sum_l M_l,zero);
 *   then a Gaussian filter with sigma 7 (scipy defaults). The filter is linear, so smoothing the sum
 *   equals summing the smoothed layer maps, and is done once.
 * - image score: the text probability only, softmax(100 x cos(image feature, prompts))[anomalous],
 *   with the prompts `imagePrompts` selects (authors: plain).
 */
import { tf } from "../../tf.js";
import { gaussianFilter } from "../common/gaussian.js";
import { selectRows, stackLayerTokens, stackPooled } from "../common/features.js";
import type { FeatureBatch, ImageFeatures, MethodOutput } from "../common/types.js";
import { anomalyProbability, l2NormalizeRows, logitDifferenceGrid } from "./maps.js";
import type { SimClip } from "./model.js";

/** Images per forward pass: bounds the wasm heap (one chunk's [n*P, W] tokens per layer at a time). */
const CHUNK = 8;

export async function scoreSimClip(m: SimClip, batch: FeatureBatch): Promise<MethodOutput> {
  const S = m.size;
  const maps: Float32Array[] = [];
  const scores = new Float32Array(batch.features.length);
  for (let start = 0; start < batch.features.length; start += CHUNK) {
    const features = batch.features.slice(start, start + CHUNK);
    const cats = batch.categories.slice(start, start + CHUNK);
    const { sum, prob } = scoreChunk(m, features, cats);
    const sumData = (await sum.data()) as Float32Array;
    scores.set((await prob.data()) as Float32Array, start);
    sum.dispose();
    prob.dispose();
    for (let i = 0; i < features.length; i++) {
      const raw = sumData.slice(i * S * S, (i + 1) * S * S);
      maps.push(m.config.sigma > 0 ? gaussianFilter(raw, S, S, m.config.sigma) : raw);
    }
  }
  return { size: S, maps, scores };
}

/** Unsmoothed summed maps [n, S, S] and anomaly probabilities [n] of one chunk (no gradients kept). */
export function scoreChunk(m: SimClip, features: ImageFeatures[], categories: string[]): { sum: tf.Tensor3D; prob: tf.Tensor1D } {
  return tf.tidy(() => {
    const n = features.length;
    const unique = [...new Set(categories)];
    const idx = categories.map((c) => unique.indexOf(c));
    const { plain, refined } = m.promptEmbeddings(unique);
    const scale = m.config.logitScale;

    const img = l2NormalizeRows(tf.matMul(stackPooled(features), m.visualProjection));
    const per = selectRows(m.config.imagePrompts === "plain" ? plain : refined, idx);
    const logits = tf.mul(tf.sum(tf.mul(tf.expandDims(img, 1), per), 2), scale);
    const prob = tf.reshape(tf.slice(tf.softmax(logits, 1), [0, 1], [n, 1]), [n]) as tf.Tensor1D;

    const [t0, t1] = tf.unstack(refined, 1) as [tf.Tensor2D, tf.Tensor2D];
    const diff = selectRows(tf.sub(t1, t0), idx) as tf.Tensor2D;
    const P = m.grid * m.grid;
    let sum: tf.Tensor3D | null = null;
    for (const layer of m.layers) {
      const x = tf.tensor2d(stackLayerTokens(features, layer), [n * P, features[0]!.width]);
      const p = anomalyProbability(logitDifferenceGrid(m.projectPatches(layer, x), diff, scale, m.grid), m.size);
      sum = sum ? (tf.add(sum, p) as tf.Tensor3D) : p;
    }
    return { sum: sum!, prob };
  });
}
