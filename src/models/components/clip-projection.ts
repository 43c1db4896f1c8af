/**
 * CLIP's own frozen head, ln_post then visual.proj, applied to patch tokens: how CLIP-AC and
 * AnomalyCLIP bring patch tokens into the joint space (docs/baselines-provenance.md: "AnomalyCLIP instead
 * applies ln_post and the projection to patch tokens"), and how the pooled class token becomes the
 * image embedding.
 */
import { tf } from "../../tf.js";
import { ShapeError } from "../../errors.js";
import type { ClipWeights } from "../../clip/weights.js";

export function backboneTensor(weights: ClipWeights, name: string, shape: number[]): tf.Tensor {
  const t = weights.get(name);
  if (!t) throw new ShapeError(`backbone weights have no "${name}" (OpenAI state-dict name): is this a CLIP checkpoint?`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`backbone weight "${name}" has shape [${t.shape}], expected [${shape}]`);
  }
  return tf.tensor(t.data, shape);
}

export class ClipPatchProjection {
  private readonly lnW: tf.Tensor1D;
  private readonly lnB: tf.Tensor1D;
  readonly proj: tf.Tensor2D;

  constructor(
    weights: ClipWeights,
    readonly width: number,
    readonly embedDim: number,
  ) {
    this.lnW = tf.keep(backboneTensor(weights, "visual.ln_post.weight", [width]) as tf.Tensor1D);
    this.lnB = tf.keep(backboneTensor(weights, "visual.ln_post.bias", [width]) as tf.Tensor1D);
    this.proj = tf.keep(backboneTensor(weights, "visual.proj", [width, embedDim]) as tf.Tensor2D);
  }

  /** ln_post (eps 1e-5, biased variance as torch.nn.LayerNorm) then @ visual.proj: [N, W] -> [N, E]. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const c = tf.sub(x, tf.mean(x, 1, true));
      const v = tf.mean(tf.square(c), 1, true);
      const ln = tf.add(tf.mul(tf.div(c, tf.sqrt(tf.add(v, 1e-5))), this.lnW), this.lnB) as tf.Tensor2D;
      return tf.matMul(ln, this.proj);
    });
  }

  /** The pooled class token is already ln_post'd (cache contract): only the projection. [n, W] -> [n, E]. */
  imageEmbeds(pooled: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(pooled, this.proj);
  }

  dispose(): void {
    tf.dispose([this.lnW, this.lnB, this.proj]);
  }
}
