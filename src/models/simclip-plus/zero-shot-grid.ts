/**
 * SimCLIP's zero-shot map M_l,zero (Eq. 6) on the patch grid, for any raw tokens (query patches or
 * memory features): adapter of layer l, cosine to the two refined prompts x 100, softmax, anomalous
 * channel. Algorithm 1 needs it before any upsampling (authors' `get_normal_scoremap`), whereas
 * SimCLIP's own map (src/models/simclip/scoring.ts) upsamples the logits first.
 * A two-way softmax is sigmoid(s (cos(F, t1) - cos(F, t0))) = sigmoid(s F.(t1 - t0) / |F|).
 */
import { tf } from "../../tf.js";
import { ShapeError } from "../../errors.js";
import { frozenMatMul } from "../common/frozen-matmul.js";
import type { SimClip } from "../simclip/model.js";

/** sigmoid(scale * (a . d) / |a|) per row of adapted [rows, dim], d = t1 - t0 of the normalised prompts. */
export function patchAnomalyProbabilities(adapted: Float32Array, rows: number, dim: number, promptDiff: Float32Array, scale: number): Float32Array {
  if (adapted.length !== rows * dim || promptDiff.length !== dim) {
    throw new ShapeError(
      `patchAnomalyProbabilities: adapted has ${adapted.length} values for ${rows} x ${dim}, prompt difference ${promptDiff.length} for ${dim}`,
    );
  }
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    let sq = 0;
    for (let k = 0; k < dim; k++) {
      const a = adapted[r * dim + k]!;
      dot += a * promptDiff[k]!;
      sq += a * a;
    }
    out[r] = 1 / (1 + Math.exp((-scale * dot) / Math.sqrt(sq)));
  }
  return out;
}

/** t1 - t0 of the class's normalised refined prompts [E] (the prompts SimCLIP's maps use). */
export function refinedPromptDifference(m: SimClip, category: string): Float32Array {
  return tf.tidy(() => {
    const [t0, t1] = tf.unstack(tf.squeeze(m.promptEmbeddings([category]).refined, [0]));
    return tf.sub(t1!, t0!).dataSync() as Float32Array;
  });
}

/** Raw tokens [rows, W] of `layer` in the joint space [rows, E]: the MHVA adapter (on onnxruntime) or, MHVA off, CLIP's fixed projection. */
export async function adaptPatches(m: SimClip, layer: number, tokens: Float32Array, rows: number): Promise<Float32Array> {
  const W = m.dims.visionWidth;
  const E = m.dims.embedDim;
  if (tokens.length !== rows * W) throw new ShapeError(`adaptPatches: ${tokens.length} values for ${rows} tokens of width ${W}`);
  if (!m.mhva) return tf.tidy(() => m.projectPatches(layer, tf.tensor2d(tokens, [rows, W])).dataSync() as Float32Array);
  const y = await frozenMatMul(tokens, rows, W, m.mhva.weights.get(layer)!.dataSync() as Float32Array, E);
  const b = m.mhva.biases.get(layer)!.dataSync();
  for (let r = 0; r < rows; r++) for (let k = 0; k < E; k++) y[r * E + k]! += b[k]!;
  return y;
}
