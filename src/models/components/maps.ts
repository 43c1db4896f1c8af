/**
 * Zero-shot anomaly maps, paper Eq. 6: per hooked layer, the softmax over the two refined prompts of
 * the similarity to each adapted patch feature, anomalous channel; summed over layers.
 *
 * Authors' details (docs/simclip.md, docs/baselines-provenance.md): similarity = 100 x cosine, computed on the patch grid,
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
 * scale * (cos(F, t1) - cos(F, t0)) = scale * (F . t) / |F|.
 *
 * Written with its gradient by hand: differentiating tf.norm + division over [n * P, E] costs ~15x
 * more on tfjs-wasm than these few fused products. With r = 1/|F| and a = F . t per row and G the
 * incoming gradient: dF = G s r (t - a r^2 F), dt = sum over the image's rows of G s r F.
 */
export function logitDifferenceGrid(adapted: tf.Tensor2D, promptDiff: tf.Tensor2D, scale: number, grid: number): tf.Tensor3D {
  const n = promptDiff.shape[0];
  const e = promptDiff.shape[1];
  const P = grid * grid;
  const f = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [y2, t2, save] = inputs as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    const y = tf.reshape(y2, [n, P, e]) as tf.Tensor3D;
    const t = tf.reshape(t2, [n, e, 1]) as tf.Tensor3D;
    const a = tf.reshape(tf.matMul(y, t), [n, P]); // F . t
    const r = tf.rsqrt(tf.sum(tf.square(y), 2)); // 1 / |F|
    save([y, t, a, r]);
    return {
      value: tf.reshape(tf.mul(tf.mul(a, r), scale), [n, grid, grid]) as tf.Tensor3D,
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
        const [ys, ts, as, rs] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor2D, tf.Tensor2D];
        const gr = tf.mul(tf.mul(tf.reshape(dy, [n, P]), rs), scale); // G s r  [n, P]
        const coef = tf.mul(as, tf.square(rs)); // a r^2
        const dY = tf.mul(tf.expandDims(gr, 2), tf.sub(tf.reshape(ts, [n, 1, e]), tf.mul(tf.expandDims(coef, 2), ys)));
        const dT = tf.matMul(tf.reshape(gr, [n, 1, P]), ys); // [n, 1, E]
        return [tf.reshape(dY, [n * P, e]), tf.reshape(dT, [n, e])];
      },
    };
  });
  return f(adapted, promptDiff) as tf.Tensor3D;
}

/**
 * Upsampled logit difference [n, S, S]: its sigmoid is the softmax's anomalous channel. SimCLIP's maps
 * use align_corners = true; the released few-shot script's image-score maps use false.
 */
export function anomalyLogits(logitDiff: tf.Tensor3D, size: number, alignCorners = true): tf.Tensor3D {
  return upsampleBilinear(logitDiff, size, alignCorners);
}

/** Anomaly probability at full resolution: sigmoid(upsample(d)) = the softmax's anomalous channel. [n, S, S] */
export function anomalyProbability(logitDiff: tf.Tensor3D, size: number, alignCorners = true): tf.Tensor3D {
  return tf.tidy(() => tf.sigmoid(anomalyLogits(logitDiff, size, alignCorners)) as tf.Tensor3D);
}

/**
 * AnomalyCLIP's order (`get_similarity_map`): the two-way softmax on the patch grid, then the
 * probabilities upsampled bilinearly with align_corners false. [n, g, g] -> [n, S, S]
 */
export function gridSoftmaxProbability(logitDiff: tf.Tensor3D, size: number): tf.Tensor3D {
  return tf.tidy(() => upsampleBilinear(tf.sigmoid(logitDiff) as tf.Tensor3D, size, false));
}

/** The anomalous channel at full resolution in either order (`PromptMapGeometry.mapOrder`). */
export function promptProbability(logitDiff: tf.Tensor3D, size: number, order: "logits" | "grid-softmax"): tf.Tensor3D {
  return order === "grid-softmax" ? gridSoftmaxProbability(logitDiff, size) : anomalyProbability(logitDiff, size);
}
