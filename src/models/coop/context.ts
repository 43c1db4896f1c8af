/**
 * Learnable context vectors at the text tower's input (CoOp, Zhou et al. 2022): a prompt is tokenised
 * with M placeholder words "X" right after the start token (CoOp's `prompt_prefix = "X " * M`), its
 * token embeddings looked up once (frozen), and the M placeholder rows replaced by the learnable
 * context before the text tower runs, so gradients reach the context through the whole tower.
 */
import { tf } from "../../tf.js";
import { ShapeError } from "../../errors.js";
import type { ClipConfig } from "../../clip/config.js";
import type { ClipWeights } from "../../clip/weights.js";
import { eotIndices, textTokenEmbedsTf } from "../../clip/tfjs-forward.js";
import { namedVariable, type Rng } from "../common/init.js";

export interface PromptTokenizer {
  tokenize(texts: string[], contextLength?: number): Int32Array;
}

/** The (normal, anomalous) prompt pair of one class as frozen token embeddings with placeholder rows. */
export interface PromptTemplatePair {
  /** [2, contextLength(77), Wt]: rows 1..M are placeholders to be replaced. */
  embeds: tf.Tensor3D;
  eotIndex: number[];
}

export function placeholderPrefix(m: number): string {
  return Array.from({ length: m }, () => "X").join(" ");
}

/** Tokenise the two sentences and check that each placeholder is one token at positions 1..M. */
export function templatePair(weights: ClipWeights, config: ClipConfig, tokenizer: PromptTokenizer, texts: [string, string], m: number): PromptTemplatePair {
  const L = config.text.contextLength;
  const ids = tokenizer.tokenize(texts, L);
  const x = tokenizer.tokenize(["X"], L)[1]!;
  for (let r = 0; r < 2; r++) {
    for (let j = 1; j <= m; j++) {
      if (ids[r * L + j] !== x)
        throw new ShapeError(`prompt "${texts[r]}": token ${j} is ${ids[r * L + j]}, expected the placeholder "X" (${x}); the context must open the prompt`);
    }
  }
  return { embeds: tf.keep(textTokenEmbedsTf(weights, config, ids, 2)), eotIndex: eotIndices(ids, 2, L) };
}

/**
 * The token embeddings [M * Wt] of `words`, which must tokenise to exactly M tokens: the context
 * CoCoOp starts from (its `ctx_init`, rows 1..M of the embedded prompt).
 */
export function wordContext(weights: ClipWeights, config: ClipConfig, tokenizer: PromptTokenizer, words: string, m: number): Float32Array {
  const L = config.text.contextLength;
  const ids = tokenizer.tokenize([words], L);
  const eot = eotIndices(ids, 1, L)[0]!;
  if (eot - 1 !== m) {
    throw new ShapeError(`context init "${words}" is ${eot - 1} tokens; the context has ${m} (set contextLength to ${eot - 1})`);
  }
  return tf.tidy(() => tf.slice(textTokenEmbedsTf(weights, config, ids, 1), [0, 1, 0], [1, m, -1]).dataSync() as Float32Array);
}

/** Context tensor [k, M, Wt] with k = 1 (shared by both states) or 2 (normal, anomalous). */
export class LearnableContext {
  readonly vectors: tf.Variable;

  /** `init` [states * length * width] (token embeddings of words), else N(0, std^2) from `rng`. */
  constructor(
    readonly states: 1 | 2,
    readonly length: number,
    readonly width: number,
    std: number,
    rng: Rng,
    init?: Float32Array,
  ) {
    let values = init;
    if (values === undefined) {
      values = new Float32Array(states * length * width);
      for (let i = 0; i < values.length; i++) values[i] = rng.normal() * std;
    } else if (values.length !== states * length * width) {
      throw new ShapeError(`context init: expected ${states} x ${length} x ${width} values, found ${values.length}`);
    }
    this.vectors = namedVariable(tf.tensor3d(values, [states, length, width]), "prompt_context");
  }

  /** [2, M, Wt] for the two states. */
  pair(): tf.Tensor3D {
    return tf.tidy(() => (this.states === 1 ? tf.concat([this.vectors, this.vectors], 0) : this.vectors) as tf.Tensor3D);
  }

  /**
   * CoCoOp's batch: pair i is template `ts[i]` with the context shifted by `shifts[i]` [Wt], all in one
   * [2n, 77, Wt] tensor, so one text-tower pass serves the whole batch.
   */
  spliceShifted(ts: PromptTemplatePair[], shifts: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const n = ts.length;
      const m = this.length;
      const base = tf.concat(ts.map((t) => t.embeds));
      const [, L, W] = base.shape as [number, number, number];
      const ctx = tf.reshape(tf.add(tf.reshape(this.pair(), [1, 2, m, W]), tf.reshape(shifts, [n, 1, 1, W])), [2 * n, m, W]);
      return tf.concat([tf.slice(base, [0, 0, 0], [2 * n, 1, W]), ctx, tf.slice(base, [0, 1 + m, 0], [2 * n, L - 1 - m, W])], 1) as tf.Tensor3D;
    });
  }

  /** The template's rows 1..M replaced by `ctx` [2, M, Wt]: [2, 77, Wt]. */
  splice(t: PromptTemplatePair, ctx: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [, L, W] = t.embeds.shape;
      const m = this.length;
      return tf.concat([tf.slice(t.embeds, [0, 0, 0], [2, 1, W]), ctx, tf.slice(t.embeds, [0, 1 + m, 0], [2, L - 1 - m, W])], 1) as tf.Tensor3D;
    });
  }
}
