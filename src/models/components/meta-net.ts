/**
 * CoCoOp's meta-net (Zhou et al. 2022, "Conditional prompt learning"): a two-layer bottleneck MLP,
 * Linear(E, E / 16) -> ReLU -> Linear(E / 16, Wt), mapping the (normalised) image feature to one
 * token pi that shifts every context vector: ctx_m(x) = ctx_m + pi(x). nn.Linear's default init.
 */
import { tf } from "../../tf.js";
import { linearInit, namedVariable, type Rng } from "../common/init.js";

export class CoCoOpMetaNet {
  readonly w1: tf.Variable;
  readonly b1: tf.Variable;
  readonly w2: tf.Variable;
  readonly b2: tf.Variable;

  constructor(
    readonly inDim: number,
    readonly outDim: number,
    rng: Rng,
  ) {
    const hidden = Math.max(1, Math.floor(inDim / 16));
    const l1 = linearInit(rng, inDim, hidden);
    const l2 = linearInit(rng, hidden, outDim);
    this.w1 = namedVariable(tf.tensor2d(l1.weight, [inDim, hidden]), "meta_net.linear1.weight");
    this.b1 = namedVariable(tf.tensor1d(l1.bias), "meta_net.linear1.bias");
    this.w2 = namedVariable(tf.tensor2d(l2.weight, [hidden, outDim]), "meta_net.linear2.weight");
    this.b2 = namedVariable(tf.tensor1d(l2.bias), "meta_net.linear2.bias");
  }

  variables(): tf.Variable[] {
    return [this.w1, this.b1, this.w2, this.b2];
  }

  /** [n, inDim] -> [n, outDim]. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, this.w1), this.b1)), this.w2), this.b2) as tf.Tensor2D);
  }
}
