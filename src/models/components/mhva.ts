/**
 * Multi-hierarchy vision adapter, paper Eq. 2: F'_l = A_l(F_l), one linear probe per hooked layer,
 * applied to the raw residual-stream patch tokens of that block (authors: nn.Linear(1024, 768) per
 * layer, with bias, on ViT-L/14's raw tokens; the output width is the joint embedding width E).
 */
import { tf } from "../../tf.js";
import { linearInit, namedVariable, type Rng } from "../common/init.js";

/**
 * x @ W + b where x is frozen (cached features): the gradient is only needed for W and b, and is
 * written as an explicit (xT @ dy): tfjs autodiff would use a transposed-operand matMul (10-30x slower
 * on wasm) and would also compute the never-used dL/dx.
 */
export function frozenInputLinear(x: tf.Tensor2D, xT: tf.Tensor2D, w: tf.Variable, b: tf.Variable): tf.Tensor2D {
  const f = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [wIn, bIn, save] = inputs as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    // The engine disposes tensors of the forward scope before the backward pass unless saved.
    save([xT]);
    const value = tf.add(tf.matMul(x, wIn), bIn) as tf.Tensor2D;
    return {
      value,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => [tf.matMul(saved[0] as tf.Tensor2D, dy), tf.sum(dy, 0)],
    };
  });
  return f(w, b) as tf.Tensor2D;
}

export class MultiHierarchyVisionAdapter {
  readonly weights = new Map<number, tf.Variable>();
  readonly biases = new Map<number, tf.Variable>();

  constructor(
    readonly layers: number[],
    readonly inDim: number,
    readonly outDim: number,
    rng: Rng,
  ) {
    for (const l of layers) {
      const { weight, bias } = linearInit(rng, inDim, outDim);
      this.weights.set(l, namedVariable(tf.tensor2d(weight, [inDim, outDim]), `mhva.${l}.weight`));
      this.biases.set(l, namedVariable(tf.tensor1d(bias), `mhva.${l}.bias`));
    }
  }

  variables(): tf.Variable[] {
    return this.layers.flatMap((l) => [this.weights.get(l)!, this.biases.get(l)!]);
  }

  /** [N, inDim] raw tokens of `layer` (and their transpose, for the gradient) -> [N, outDim]. */
  apply(layer: number, x: tf.Tensor2D, xT: tf.Tensor2D): tf.Tensor2D {
    return frozenInputLinear(x, xT, this.weights.get(layer)!, this.biases.get(layer)!);
  }

  /** Forward only (scoring): no gradient bookkeeping. */
  forward(layer: number, x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.weights.get(layer)!), this.biases.get(layer)!) as tf.Tensor2D;
  }

  dispose(): void {
    for (const v of this.variables()) v.dispose();
  }
}
