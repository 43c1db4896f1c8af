/**
 * Zero-shot anomaly maps, paper Eq. 6: per hooked layer, the softmax over the two refined prompts of
 * the similarity to each adapted patch feature, anomalous channel; summed over layers.
 *
 * Authors' details (peer-conventions.md): similarity = 100 x cosine, computed on the patch grid,
 * upsampled bilinearly (align_corners = True) to the input size, then the softmax. Because bilinear
 * upsampling is linear and a two-way softmax is a sigmoid of the logit difference,
 *   softmax(up(z0), up(z1))[1] = sigmoid(up(z1 - z0)),
 * so only the difference map is upsampled: half the per-pixel work, same numbers.
 */
import { tf } from "../../tf.js";
import { upsampleBilinear } from "../common/upsample.js";

/** Rows divided by their L2 norm (F.normalize / x / x.norm(dim=-1) as the peers do). */
export function l2NormalizeRows(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(x, tf.norm(x, "euclidean", -1, true)));
}

/**
 * Logit difference on the patch grid: adapted [n * P, E] (not yet normalised) against per-image
 * prompt-difference vectors [n, E] (t1 - t0 of the normalised prompts) -> [n, g, g] of
 * scale * (cos(F, t1) - cos(F, t0)).
 */
export function logitDifferenceGrid(adapted: tf.Tensor2D, promptDiff: tf.Tensor2D, scale: number, grid: number): tf.Tensor3D {
  return tf.tidy(() => {
    const n = promptDiff.shape[0];
    const e = promptDiff.shape[1];
    const f = tf.reshape(l2NormalizeRows(adapted), [n, grid * grid, e]);
    const d = tf.sum(tf.mul(f, tf.reshape(promptDiff, [n, 1, e])), 2);
    return tf.reshape(tf.mul(d, scale), [n, grid, grid]) as tf.Tensor3D;
  });
}

/** Anomaly probability at full resolution: sigmoid(upsample(d)) = the softmax's anomalous channel. [n, S, S] */
export function anomalyProbability(logitDiff: tf.Tensor3D, size: number): tf.Tensor3D {
  return tf.tidy(() => tf.sigmoid(upsampleBilinear(logitDiff, size, true)) as tf.Tensor3D);
}
