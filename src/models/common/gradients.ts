/** Gradients summed over loss terms, each differentiated on its own tape, and sums of such results. */
import { tf } from "../../tf.js";
import type { GradientResult, LossTerm } from "./types.js";

/** Add `g` to `v`'s gradient in `grads` (set it when there is none); `g` is consumed. */
export function addGradient(grads: Map<tf.Variable, tf.Tensor>, v: tf.Variable, g: tf.Tensor): void {
  const prev = grads.get(v);
  if (prev) {
    grads.set(v, tf.add(prev, g));
    prev.dispose();
    g.dispose();
  } else grads.set(v, g);
}

/** Sum `from` into `into` (losses, parts, gradients); `from`'s gradient tensors are consumed. */
export function accumulateGradients(into: GradientResult, from: GradientResult): void {
  into.loss += from.loss;
  Object.assign(into.parts, from.parts);
  for (const [v, g] of from.grads) addGradient(into.grads, v, g);
}

/** Differentiate each term on its own tape with respect to `vars`, summing into one gradient per variable. */
export function gradientsOfTerms(vars: tf.Variable[], terms: LossTerm[]): GradientResult {
  const grads = new Map<tf.Variable, tf.Tensor>();
  const parts: Record<string, number> = {};
  let loss = 0;
  for (const term of terms) {
    let kept: Record<string, tf.Scalar> = {};
    const { value, grads: g } = tf.variableGrads(() => {
      const r = term();
      kept = Object.fromEntries(Object.entries(r.parts).map(([k, v]) => [k, tf.keep(v.clone())]));
      return r.loss;
    }, vars);
    loss += value.dataSync()[0]!;
    value.dispose();
    for (const [k, v] of Object.entries(kept)) {
      parts[k] = v.dataSync()[0]!;
      v.dispose();
    }
    for (const v of vars) {
      const gi = g[v.name];
      if (gi) addGradient(grads, v, gi);
    }
  }
  return { loss, parts, grads };
}
