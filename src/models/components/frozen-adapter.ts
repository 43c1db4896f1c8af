/**
 * Gradients through a linear adapter over frozen features, its two big products on onnxruntime
 * (APRIL-GAN's adapters, the prompt learners' visual adapters).
 */
import { tf } from "../../tf.js";
import { frozenMatMul, frozenMatMulTransposedA } from "../common/frozen-matmul.js";
import { gradientsOfTerms } from "../common/gradients.js";
import { namedVariable } from "../common/init.js";
import type { GradientResult, LossTerm } from "../common/types.js";

/**
 * Gradients of a loss term built on a linear adapter's output Y = X W + b over frozen X [rows, k]:
 * Y's product runs on onnxruntime, the term is differentiated on tfjs with Y as a leaf (together with
 * `vars`), and dW = X^T dY runs on onnxruntime again.
 */
export async function frozenAdapterGradients(
  x: Float32Array,
  rows: number,
  k: number,
  weight: tf.Variable,
  bias: tf.Variable,
  vars: tf.Variable[],
  term: (adapted: () => tf.Tensor2D) => LossTerm,
): Promise<GradientResult> {
  const m = weight.shape[1]!;
  const y = namedVariable(tf.tensor2d(await frozenMatMul(x, rows, k, weight.dataSync() as Float32Array, m), [rows, m]), "adapter-output");
  try {
    const r = gradientsOfTerms([...vars.filter((v) => v !== weight), y], [term(() => tf.add(y, bias) as tf.Tensor2D)]);
    const dy = r.grads.get(y)!;
    r.grads.delete(y);
    const dyData = dy.dataSync() as Float32Array;
    dy.dispose();
    r.grads.set(weight, tf.tensor2d(await frozenMatMulTransposedA(x, rows, k, dyData, m), [k, m]));
    return r;
  } finally {
    y.dispose();
  }
}
