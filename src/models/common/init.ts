/**
 * Seeded parameter initialisation with PyTorch's default schemes, so a freshly built head starts from
 * the same distribution as the authors' (and is reproducible from the training seed).
 */
import { tf } from "../../tf.js";
import { createRng, type Rng } from "../../data/random.js";

export { createRng, type Rng };

export function uniformArray(rng: Rng, n: number, lo: number, hi: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.range(lo, hi);
  return a;
}

/**
 * nn.Linear's default init (kaiming_uniform with a = sqrt(5) for the weight, and the bias): both
 * uniform in [-1/sqrt(fanIn), 1/sqrt(fanIn)]. The weight is returned in our [in, out] layout.
 */
export function linearInit(rng: Rng, fanIn: number, fanOut: number): { weight: Float32Array; bias: Float32Array } {
  const b = 1 / Math.sqrt(fanIn);
  return { weight: uniformArray(rng, fanIn * fanOut, -b, b), bias: uniformArray(rng, fanOut, -b, b) };
}

/** nn.init.xavier_uniform_ of a PyTorch [rows, cols] tensor: fan_in = cols, fan_out = rows. */
export function xavierUniform(rng: Rng, rows: number, cols: number): Float32Array {
  const b = Math.sqrt(6 / (rows + cols));
  return uniformArray(rng, rows * cols, -b, b);
}

let variableCounter = 0;

/**
 * tfjs variable names are global and must be unique, but two models in one process (a notebook
 * comparing runs) have parameters with the same role: the name is `key@n`, and `variableKey` gives the
 * stable `key` that checkpoints use.
 */
export function namedVariable(init: tf.Tensor, key: string): tf.Variable {
  const v = tf.variable(init, true, `${key}@${variableCounter++}`);
  // The variable shares `init`'s data with its own reference; the init tensor handle is not needed.
  init.dispose();
  return v;
}

export function variableKey(v: tf.Variable): string {
  const at = v.name.lastIndexOf("@");
  return at < 0 ? v.name : v.name.slice(0, at);
}
