/**
 * The training losses of SimCLIP (paper Sec. 3.2 "Notes": cross-entropy for classification, focal [25]
 * and dice [28] for segmentation), written exactly as the authors' code (inherited from APRIL-GAN)
 * computes them, so that loss values are comparable with theirs.
 */
import { tf } from "../../tf.js";

/** APRIL-GAN's FocalLoss `smooth`: the one-hot target is clamped to [smooth, 1 - smooth] and smooth is added to pt. */
export const FOCAL_SMOOTH = 1e-5;

/**
 * Focal loss of a two-class (normal, anomalous) softmax output, given only the anomaly probability p1
 * (p0 = 1 - p1) and the 0/1 target, any (equal) shapes.
 *
 * Authors' FocalLoss (gamma 2, alpha None = 1, smooth 1e-5, mean over pixels): the one-hot target is
 * clamped to [1e-5, 1 - 1e-5], pt = sum_c(onehot_c p_c) + 1e-5, loss = -(1 - pt)^gamma log pt.
 * With two classes and q = p_target, sum_c(onehot_c p_c) = (1 - s) q + s (1 - q), so
 * pt = 2s + (1 - 2s) q: one channel suffices.
 */
export function focalLossBinary(p1: tf.Tensor, target: tf.Tensor, gamma = 2): tf.Scalar {
  return tf.tidy(() => {
    const s = FOCAL_SMOOTH;
    const g = tf.cast(target, "float32");
    // q = p1 where g = 1, 1 - p1 where g = 0, written as (1 - g) + (2g - 1) p1 to stay differentiable in p1.
    const q = tf.add(tf.sub(1, g), tf.mul(tf.sub(tf.mul(2, g), 1), p1));
    const pt = tf.add(2 * s, tf.mul(1 - 2 * s, q));
    const w = gamma === 2 ? tf.square(tf.sub(1, pt)) : tf.pow(tf.sub(1, pt), gamma);
    return tf.neg(tf.mean(tf.mul(w, tf.log(pt)))) as tf.Scalar;
  });
}

/**
 * Authors' BinaryDiceLoss on the anomaly channel: per image (first axis) (2 sum(p g) + 1) /
 * (sum p + sum g + 1), loss = 1 - mean over images. The smoothing 1 makes an all-normal image with an
 * all-zero prediction score a perfect 1.
 */
export function diceLoss(p1: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const n = p1.shape[0];
    const p = tf.reshape(p1, [n, -1]);
    const g = tf.reshape(tf.cast(target, "float32"), [n, -1]);
    const inter = tf.sum(tf.mul(p, g), 1);
    const dice = tf.div(tf.add(tf.mul(2, inter), 1), tf.add(tf.add(tf.sum(p, 1), tf.sum(g, 1)), 1));
    return tf.sub(1, tf.mean(dice)) as tf.Scalar;
  });
}

/** PyTorch's CrossEntropyLoss (mean reduction): logits [n, C], labels int class indices [n]. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D | number[]): tf.Scalar {
  return tf.tidy(() => {
    const [, c] = logits.shape;
    const y = Array.isArray(labels) ? tf.tensor1d(labels, "int32") : tf.cast(labels, "int32");
    const onehot = tf.oneHot(y, c);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits, 1)), 1))) as tf.Scalar;
  });
}

/**
 * focal + dice of p = sigmoid(z) in one op with a hand-written gradient: the same numbers as
 * `focalLossBinary(p, g)` and `diceLoss(p, g)`, but the backward pass is a handful of elementwise
 * products instead of autodiff's chain through every intermediate, which matters at 518 x 518 per
 * image and layer (docs/performance.md: per-pixel work dominates training). z: logits [n, ...]; g: 0/1.
 * Returns [focal, dice].
 */
export function focalDiceFromLogits(z: tf.Tensor, target: tf.Tensor): tf.Tensor1D {
  const n = z.shape[0];
  const s = FOCAL_SMOOTH;
  const f = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [zz, save] = inputs as [tf.Tensor, tf.GradSaveFunc];
    const p = tf.reshape(tf.sigmoid(zz), [n, -1]);
    const g = tf.reshape(tf.cast(target, "float32"), [n, -1]);
    const sign = tf.sub(tf.mul(2, g), 1); // dq/dp
    const pt = tf.add(2 * s, tf.mul(1 - 2 * s, tf.add(tf.sub(1, g), tf.mul(sign, p))));
    const om = tf.sub(1, pt);
    const lnpt = tf.log(pt);
    const focal = tf.neg(tf.mean(tf.mul(tf.square(om), lnpt)));
    const num = tf.add(tf.mul(2, tf.sum(tf.mul(p, g), 1, true)), 1); // [n, 1]
    const den = tf.add(tf.add(tf.sum(p, 1, true), tf.sum(g, 1, true)), 1);
    const dice = tf.sub(1, tf.mean(tf.div(num, den)));
    save([p, g, sign, pt, om, lnpt, num, den]);
    return {
      value: tf.stack([focal, dice]) as tf.Tensor1D,
      gradFunc: (dy: tf.Tensor1D, saved: tf.Tensor[]) => {
        const [p, g, sign, pt, om, lnpt, num, den] = saved as tf.Tensor2D[];
        const [dFocal, dDice] = tf.unstack(dy) as [tf.Scalar, tf.Scalar];
        const m = p!.size;
        // d focal / dp = -(1/M) (-2 om ln pt + om^2 / pt) (1 - 2s) (2g - 1)
        const focalP = tf.mul(tf.mul(tf.sub(tf.div(tf.square(om!), pt!), tf.mul(2, tf.mul(om!, lnpt!))), sign!), -(1 - 2 * s) / m);
        // d dice / dp = -(1/n) (2g den - num) / den^2
        const diceP = tf.mul(tf.div(tf.sub(tf.mul(tf.mul(2, g!), den!), num!), tf.square(den!)), -1 / n);
        const dp = tf.add(tf.mul(focalP, dFocal), tf.mul(diceP, dDice));
        return tf.reshape(tf.mul(dp, tf.mul(p!, tf.sub(1, p!))), zz.shape);
      },
    };
  });
  return f(z) as tf.Tensor1D;
}
