/**
 * SimCLIP's test-time scoring (the authors' released code; docs/simclip.md):
 * - map: per hooked layer, softmax over the two refined prompts of 100 x cos (Eq. 6) upsampled to
 *   S x S (align_corners = True), anomalous channel; summed over layers (paper: sum_l M_l,zero);
 *   then a Gaussian filter with sigma 7 (scipy defaults). The filter is linear, so smoothing the sum
 *   equals summing the smoothed layer maps, and is done once.
 * - image score: the text probability only, softmax(100 x cos(image feature, prompts))[anomalous],
 *   with the prompts `imagePrompts` selects (authors: plain).
 */
import { tf } from "../../tf.js";
import { scoreInChunks } from "../common/chunked-scoring.js";
import { selectRows, stackLayerTokens, stackPooled } from "../common/features.js";
import { frozenMatMul } from "../common/frozen-matmul.js";
import type { FeatureBatch, ImageFeatures, MethodOutput } from "../common/types.js";
import { anomalyProbability, l2NormalizeRows, logitDifferenceGrid } from "../components/maps.js";
import type { SimClip } from "./model.js";

export function scoreSimClip(m: SimClip, batch: FeatureBatch): Promise<MethodOutput> {
  const perLayer = batch.layerMaps === true;
  return scoreInChunks(batch, m.size, m.config.sigma, (features, categories) => scoreChunk(m, features, categories, { perLayer }));
}

export interface ScoreChunkOptions {
  /**
   * Also return each layer's own map (for display). The summed map is still accumulated from the
   * same tensors in the same order, so it is bit-identical with or without this.
   */
  perLayer?: boolean;
  /** align_corners of the logits' upsampling: true (default) for SimCLIP's maps, false for the released few-shot image score's. */
  alignCorners?: boolean;
}

/**
 * Unsmoothed summed maps [n * S * S] and anomaly probabilities [n] of one chunk (and, if asked, each
 * hooked layer's map [n * S * S] in `m.layers` order). The adapters' X W runs on onnxruntime (frozen
 * inputs, no gradient needed), the rest on tfjs.
 */
export async function scoreChunk(
  m: SimClip,
  features: ImageFeatures[],
  categories: string[],
  opts: ScoreChunkOptions = {},
): Promise<{ sum: Float32Array; prob: Float32Array; layers?: Float32Array[] }> {
  const n = features.length;
  const P = m.grid * m.grid;
  const W = features[0]!.width;
  const E = m.dims.embedDim;
  const scale = m.config.logitScale;
  const unique = [...new Set(categories)];
  const idx = categories.map((c) => unique.indexOf(c));
  const { diff, prob } = tf.tidy(() => {
    const { plain, refined } = m.promptEmbeddings(unique);
    const img = l2NormalizeRows(tf.matMul(stackPooled(features), m.visualProjection));
    const per = selectRows(m.config.imagePrompts === "plain" ? plain : refined, idx);
    const logits = tf.mul(tf.sum(tf.mul(tf.expandDims(img, 1), per), 2), scale);
    const [t0, t1] = tf.unstack(refined, 1) as [tf.Tensor2D, tf.Tensor2D];
    return {
      diff: selectRows(tf.sub(t1, t0), idx) as tf.Tensor2D,
      prob: tf.reshape(tf.slice(tf.softmax(logits, 1), [0, 1], [n, 1]), [n]),
    };
  });
  let sum: tf.Tensor | null = null;
  const layers: Float32Array[] = [];
  try {
    for (const layer of m.layers) {
      const x = stackLayerTokens(features, layer);
      const y = m.mhva ? await frozenMatMul(x, n * P, W, m.mhva.weights.get(layer)!.dataSync() as Float32Array, E) : null;
      const p = tf.tidy(() => {
        const adapted = y
          ? (tf.add(tf.tensor2d(y, [n * P, E]), m.mhva!.biases.get(layer)!) as tf.Tensor2D)
          : m.projectPatches(layer, tf.tensor2d(x, [n * P, W]));
        return anomalyProbability(logitDifferenceGrid(adapted, diff, scale, m.grid), m.size, opts.alignCorners ?? true);
      });
      if (opts.perLayer) layers.push((await p.data()) as Float32Array);
      if (sum) {
        const next: tf.Tensor = tf.add(sum, p);
        tf.dispose([sum, p]);
        sum = next;
      } else sum = p;
    }
    return { sum: (await sum!.data()) as Float32Array, prob: (await prob.data()) as Float32Array, ...(opts.perLayer ? { layers } : {}) };
  } finally {
    tf.dispose([diff, prob, ...(sum ? [sum] : [])]);
  }
}
