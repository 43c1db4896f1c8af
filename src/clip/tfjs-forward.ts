/**
 * Differentiable CLIP forward passes on TensorFlow.js (the tfjs executor of `architecture.ts`).
 * Results are tfjs tensors, so gradients flow back to the inputs on tfjs' own tape: the reference
 * the prompt learners' onnxruntime route (`text-vjp.ts`) is checked against, and the simple way to
 * differentiate a tower where speed does not matter. Run inside `tf.tidy` or
 * dispose the results; the frozen parameters stay cached per weights map until `disposeTfClip`.
 * Call `await tfReady()` first (these functions are synchronous and use the current backend).
 */
import { tf } from "../tf.js";
import type { ClipConfig } from "./config.js";
import type { ClipWeights } from "./weights.js";
import { textTokenEmbeds, textTower, visionTower } from "./architecture.js";
import { TfClipOps } from "./tfjs-ops.js";
import { ShapeError } from "../errors.js";

const executors = new WeakMap<ClipWeights, TfClipOps>();

function opsFor(weights: ClipWeights): TfClipOps {
  let ops = executors.get(weights);
  if (!ops) {
    ops = new TfClipOps();
    executors.set(weights, ops);
  }
  return ops;
}

/** Free the tfjs copies of these weights' frozen parameters. */
export function disposeTfClip(weights: ClipWeights): void {
  executors.get(weights)?.dispose();
  executors.delete(weights);
}

/** Token ids [n, contextLength] -> token embeddings [n, contextLength, width] (frozen table lookup). */
export function textTokenEmbedsTf(weights: ClipWeights, config: ClipConfig, inputIds: Int32Array, n: number): tf.Tensor3D {
  const ctx = config.text.contextLength;
  if (inputIds.length !== n * ctx) throw new ShapeError(`input ids: expected ${n} x ${ctx} = ${n * ctx} values, found ${inputIds.length}`);
  const ops = opsFor(weights);
  return tf.tidy(() => textTokenEmbeds(ops, weights, tf.tensor2d(inputIds, [n, ctx], "int32"))) as tf.Tensor3D;
}

/** EOT position per row: argmax of the ids, as OpenAI's encode_text (EOT 49407 is the largest id). */
export function eotIndices(inputIds: Int32Array, n: number, contextLength: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let j = 1; j < contextLength; j++) if (inputIds[r * contextLength + j]! > inputIds[r * contextLength + best]!) best = j;
    out.push(best);
  }
  return out;
}

/** [n, 1, ctx] with a 1 at each row's EOT position: pooling as a product keeps it differentiable. */
export function eotOneHot(eotIndex: number[], contextLength: number): Float32Array {
  const out = new Float32Array(eotIndex.length * contextLength);
  eotIndex.forEach((e, r) => {
    if (!Number.isInteger(e) || e < 0 || e >= contextLength) throw new ShapeError(`eotIndex[${r}] = ${e}: expected an integer in 0..${contextLength - 1}`);
    out[r * contextLength + e] = 1;
  });
  return out;
}

/**
 * Text tower from token embeddings. inputEmbeds: [n, contextLength, width]; eotIndex: n positions;
 * deepPrompts: [depth, length, width] tokens replacing positions 1..length before blocks 2..depth + 1
 * (`DeepTextPrompts` in architecture.ts). Returns lastHiddenState [n, ctx, width] (after ln_final),
 * pooled [n, width] (its EOT rows) and textEmbeds [n, embedDim].
 */
export function textForwardTf(
  weights: ClipWeights,
  config: ClipConfig,
  inputEmbeds: tf.Tensor,
  eotIndex: number[],
  deepPrompts?: tf.Tensor,
): { lastHiddenState: tf.Tensor3D; pooled: tf.Tensor2D; textEmbeds: tf.Tensor2D } {
  const { contextLength: ctx, width } = config.text;
  const [n, t, w] = inputEmbeds.shape;
  if (inputEmbeds.rank !== 3 || t !== ctx || w !== width || n !== eotIndex.length)
    throw new ShapeError(
      `textForwardTf: inputEmbeds must be [n, ${ctx}, ${width}] with n = eotIndex.length = ${eotIndex.length}, found [${inputEmbeds.shape.join(", ")}]`,
    );
  if (deepPrompts && (deepPrompts.rank !== 3 || deepPrompts.shape[2] !== width))
    throw new ShapeError(`textForwardTf: deepPrompts must be [depth, length, ${width}], found [${deepPrompts.shape.join(", ")}]`);
  const ops = opsFor(weights);
  return tf.tidy(() => {
    const onehot = tf.tensor3d(eotOneHot(eotIndex, ctx), [eotIndex.length, 1, ctx]);
    const deep = deepPrompts && { prompts: deepPrompts, depth: deepPrompts.shape[0], length: deepPrompts.shape[1]! };
    const out = textTower(ops, weights, config, inputEmbeds, onehot, { deep });
    return { lastHiddenState: out.lastHiddenState as tf.Tensor3D, pooled: out.pooled as tf.Tensor2D, textEmbeds: out.textEmbeds as tf.Tensor2D };
  });
}

/** Vision tower on tfjs (differentiable w.r.t. the pixels). pixelValues: [n, 3, S, S]. */
export function visionForwardTf(
  weights: ClipWeights,
  config: ClipConfig,
  pixelValues: tf.Tensor,
  opts: { layers: number[]; lnPost?: boolean },
): { hiddenStates: Map<number, tf.Tensor3D>; pooled: tf.Tensor2D; imageEmbeds: tf.Tensor2D } {
  const [, c, h, w] = pixelValues.shape;
  const ps = config.vision.patchSize;
  if (pixelValues.rank !== 4 || c !== 3 || h !== w || h! % ps !== 0)
    throw new ShapeError(`visionForwardTf: pixelValues must be [n, 3, S, S] with S a multiple of ${ps}, found [${pixelValues.shape.join(", ")}]`);
  const ops = opsFor(weights);
  // tf.tidy keeps tensors found in returned arrays and plain objects, not in Maps.
  const layers = [...opts.layers];
  const kept = tf.tidy(() => {
    const out = visionTower(ops, weights, config, pixelValues, { grid: h! / ps, layers, lnPost: opts.lnPost ?? false });
    return { hidden: layers.map((l) => out.hidden.get(l)!), pooled: out.pooled, imageEmbeds: out.imageEmbeds };
  });
  return {
    hiddenStates: new Map(layers.map((l, i) => [l, kept.hidden[i] as tf.Tensor3D])),
    pooled: kept.pooled as tf.Tensor2D,
    imageEmbeds: kept.imageEmbeds as tf.Tensor2D,
  };
}
