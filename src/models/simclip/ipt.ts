/**
 * Implicit prompt tuning, paper Eqs. 4-5, in the form the authors implemented it
 * (the released code's IPT; docs/simclip.md), on the frozen text tower's ln_final output
 * x = T_last [77, Wt] of each prompt:
 *
 *   ori     = x^T w + b_w            the token weighting W of Eq. 5 (a Linear(77 -> 1) over the token
 *                                    axis, the released `x_learner_proj`)
 *   P       = MLP(P_s)               Eq. 4: P_s a learnable 1 x 8 (xavier), MLP = Linear(8, 256), GELU,
 *                                    Linear(256, Wt) (`layer_learner_1`, `layer_learner_1_upProj`)
 *   refined = x_eot + c([ori, P])    c = Linear(2 -> 1) over the pair (`layer_learner_1_proj`): the
 *                                    paper's "FFN"; the authors add it to the EOT-token feature
 *
 * followed by the (trainable) text projection (done by the caller). Both linear maps over the token and
 * pair axes are the released `ConstrainLinear`: a plain nn.Linear whose weight AND bias start U[0, 1]
 * and are never constrained afterwards, so IPT is live from the first step. The paper's "w in [0, 1]"
 * is available as `clamp`: the token weighting (with its bias) and c's weights are projected back into
 * [0, 1] after every optimiser step, as a clamp on the parameters' data would do in PyTorch.
 */
import { tf } from "../../tf.js";
import { linearInit, namedVariable, uniformArray, xavierUniform, type Rng } from "../common/init.js";

export class ImplicitPromptTuning {
  readonly tokenWeight: tf.Variable; // [contextLength, 1]
  readonly tokenBias: tf.Variable; // [1]
  readonly seed: tf.Variable; // P_s [1, seedDim]
  readonly mlp1Weight: tf.Variable; // [seedDim, hidden]
  readonly mlp1Bias: tf.Variable;
  readonly mlp2Weight: tf.Variable; // [hidden, width]
  readonly mlp2Bias: tf.Variable;
  readonly mixWeight: tf.Variable; // c: [2]
  readonly mixBias: tf.Variable; // [1]

  constructor(
    readonly contextLength: number,
    readonly width: number,
    readonly seedDim: number,
    readonly hidden: number,
    rng: Rng,
    /** The paper's wording: keep W and c's weights in [0, 1] (the released code never clamps). */
    readonly clamp = false,
  ) {
    const v = (data: Float32Array, shape: number[], name: string) => namedVariable(tf.tensor(data, shape), `ipt.${name}`);
    this.tokenWeight = v(uniformArray(rng, contextLength, 0, 1), [contextLength, 1], "token_weight");
    this.tokenBias = v(uniformArray(rng, 1, 0, 1), [1], "token_bias");
    this.seed = v(xavierUniform(rng, 1, seedDim), [1, seedDim], "prompt_seed");
    const l1 = linearInit(rng, seedDim, hidden);
    this.mlp1Weight = v(l1.weight, [seedDim, hidden], "mlp1.weight");
    this.mlp1Bias = v(l1.bias, [hidden], "mlp1.bias");
    const l2 = linearInit(rng, hidden, width);
    this.mlp2Weight = v(l2.weight, [hidden, width], "mlp2.weight");
    this.mlp2Bias = v(l2.bias, [width], "mlp2.bias");
    this.mixWeight = v(uniformArray(rng, 2, 0, 1), [2], "mix.weight");
    this.mixBias = v(uniformArray(rng, 1, 0, 1), [1], "mix.bias");
  }

  variables(): tf.Variable[] {
    return [this.tokenWeight, this.tokenBias, this.seed, this.mlp1Weight, this.mlp1Bias, this.mlp2Weight, this.mlp2Bias, this.mixWeight, this.mixBias];
  }

  /** With `clamp`: keep W (token weighting, with its bias) and c's weights inside [0, 1] (paper: w^i in [0, 1]). */
  project(): void {
    if (!this.clamp) return;
    tf.tidy(() => {
      for (const p of [this.tokenWeight, this.tokenBias, this.mixWeight]) p.assign(tf.clipByValue(p, 0, 1));
    });
  }

  /** P = MLP(P_s), Eq. 4, with PyTorch's exact (erf) GELU: [1, width]. */
  promptEmbedding(): tf.Tensor2D {
    return tf.tidy(() => {
      const h = tf.add(tf.matMul(this.seed, this.mlp1Weight), this.mlp1Bias);
      const gelu = tf.mul(tf.mul(h, 0.5), tf.add(1, tf.erf(tf.mul(h, Math.SQRT1_2))));
      return tf.add(tf.matMul(gelu, this.mlp2Weight), this.mlp2Bias) as tf.Tensor2D;
    });
  }

  /**
   * Refine n prompts. `xT` is the frozen ln_final output laid out [n * width, contextLength] (token axis
   * last, so the token weighting is one plain matMul), `xEot` [n, width] the EOT rows. Returns [n, width],
   * before the text projection. `eotResidual` false drops the x_eot term (the paper's Eq. 5 as written).
   */
  refine(xT: tf.Tensor2D, xEot: tf.Tensor2D, eotResidual = true): tf.Tensor2D {
    return tf.tidy(() => {
      const n = xEot.shape[0];
      const ori = tf.add(tf.reshape(tf.matMul(xT, this.tokenWeight), [n, this.width]), this.tokenBias);
      const p = this.promptEmbedding();
      const [c0, c1] = tf.unstack(this.mixWeight);
      const mixed = tf.add(tf.add(tf.mul(ori, c0!), tf.mul(p, c1!)), this.mixBias);
      return (eotResidual ? tf.add(xEot, mixed) : mixed) as tf.Tensor2D;
    });
  }

  dispose(): void {
    for (const v of this.variables()) v.dispose();
  }
}
