/**
 * Implicit prompt tuning, paper Eqs. 4-5, in the form the authors implemented it
 * (peer-conventions.md, "IPT as implemented"), on the frozen text tower's ln_final output
 * x = T_last [77, Wt] of each prompt:
 *
 *   ori     = x^T w + b_w            the token weighting W of Eq. 5 (a Linear(77 -> 1) over the token
 *                                    axis); w and b_w constrained to [0, 1], initialised U[0, 1]
 *   P       = MLP(P_s)               Eq. 4: P_s a learnable 1 x 8 (xavier), MLP = Linear(8, 256), GELU,
 *                                    Linear(256, Wt)
 *   refined = x_eot + c([ori, P])    c = Linear(2 -> 1) over the pair, weights constrained to [0, 1]:
 *                                    the paper's "FFN"; the authors add it to the EOT-token feature
 *
 * followed by the (trainable) text projection (done by the caller). The [0, 1] constraints are kept by
 * projecting (clamping) the constrained parameters after every optimiser step, which is what a clamp
 * on the parameters' data achieves in PyTorch. c's bias is unconstrained (nn.Linear's default bias;
 * the constraint is on the mixing weights); c's weights start from nn.Linear's default init clamped
 * into [0, 1].
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
    const c = linearInit(rng, 2, 1);
    this.mixWeight = v(c.weight.map((x) => Math.min(1, Math.max(0, x))), [2], "mix.weight");
    this.mixBias = v(c.bias, [1], "mix.bias");
  }

  variables(): tf.Variable[] {
    return [
      this.tokenWeight, this.tokenBias, this.seed, this.mlp1Weight, this.mlp1Bias,
      this.mlp2Weight, this.mlp2Bias, this.mixWeight, this.mixBias,
    ];
  }

  /** Keep W (token weighting, with its bias) and c's weights inside [0, 1] (paper: w^i in [0, 1]). */
  project(): void {
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
