/**
 * Training objective of the input-side prompt learners.
 * CoOp/CoCoOp in the SimCLIP framework: SimCLIP's loss, 1.3 * CE(100 * cos(image, prompts)) +
 * 0.08 * sum over layers of (focal + dice). AnomalyCLIP (train.py): CE(cos / 0.07) + 4 * sum over
 * layers of (focal + dice(p1, g) + dice(p0, 1 - g)).
 *
 * Two routes to the same loss and gradients:
 * - `promptLearnerTerms`: every term rebuilds the prompt features on its own tape (one text-tower
 *   forward and backward per term); simple, used to check the other;
 * - `promptLearnerLossAndGradients` (what training uses): the prompt features P are computed once,
 *   the terms are differentiated with P as a leaf, and dL/dP is pulled back through the text tower in
 *   one vector-Jacobian product (`PromptLearnerClip.tracePromptPairs`), so each step runs the text
 *   tower forward once and backward once, both on onnxruntime; the adapters' big products run on
 *   onnxruntime as in SimCLIP's training (`frozenAdapterGradients`).
 */
import { tf } from "../../tf.js";
import { ShapeError } from "../../errors.js";
import { crossEntropy, diceLoss, focalLossBinary } from "../components/losses.js";
import { stackLayerTokens, stackMasks } from "../common/features.js";
import { accumulateGradients, gradientsOfTerms } from "../common/gradients.js";
import { namedVariable } from "../common/init.js";
import type { GradientResult, LossTerm, TrainItem } from "../common/types.js";
import { logitDifferenceGrid, promptProbability } from "../components/maps.js";
import { frozenAdapterGradients } from "../components/frozen-adapter.js";
import type { PromptLearnerClip } from "./model.js";

interface Terms {
  ce: LossTerm;
  /** Layer `layer`'s segmentation term given its joint-space patch features on the tape. */
  seg: (layer: number, adapted: () => tf.Tensor2D) => LossTerm;
  /** Layer `layer`'s frozen patch tokens [rows, width]. */
  tokens: (layer: number) => Float32Array;
  rows: number;
  width: number;
}

/** The loss terms with the prompt features given by `prompts` (evaluated on each term's tape). */
function buildTerms(m: PromptLearnerClip, items: TrainItem[], prompts: () => tf.Tensor3D): Terms {
  const n = items.length;
  const S = m.size;
  const features = items.map((it) => it.features);
  if (features[0]!.grid !== m.grid)
    throw new ShapeError(`${m.name}: cached features have a ${features[0]!.grid}x${features[0]!.grid} grid, size ${S} needs ${m.grid}x${m.grid}`);
  const masks = stackMasks(items, S, m.name);
  const c = m.config;
  const ce: LossTerm = () => {
    const img = m.imageEmbeddings(features);
    const logits = tf.mul(tf.sum(tf.mul(tf.expandDims(img, 1), prompts()), 2), c.logitScale) as tf.Tensor2D;
    const loss = crossEntropy(
      logits,
      items.map((it) => it.label),
    );
    return { loss: tf.mul(loss, c.ceWeight) as tf.Scalar, parts: { ce: loss } };
  };
  const seg =
    (layer: number, adapted: () => tf.Tensor2D): LossTerm =>
    () => {
      const [t0, t1] = tf.unstack(prompts(), 1) as [tf.Tensor2D, tf.Tensor2D];
      const p = promptProbability(logitDifferenceGrid(adapted(), tf.sub(t1, t0) as tf.Tensor2D, c.logitScale, m.grid), S, c.mapOrder);
      const g = tf.tensor3d(masks, [n, S, S]);
      const focal = focalLossBinary(p, g);
      const dice = diceLoss(p, g);
      const parts: Record<string, tf.Scalar> = { [`focal_${layer}`]: focal, [`dice_${layer}`]: dice };
      let sum = tf.add(focal, dice);
      if (c.normalDice) {
        const normal = diceLoss(tf.sub(1, p), tf.sub(1, g));
        parts[`dice_normal_${layer}`] = normal;
        sum = tf.add(sum, normal);
      }
      return { loss: tf.mul(sum, c.segWeight) as tf.Scalar, parts };
    };
  return { ce, seg, tokens: (layer) => stackLayerTokens(features, layer), rows: n * m.grid * m.grid, width: features[0]!.width };
}

function promptsOf(m: PromptLearnerClip, items: TrainItem[]): () => tf.Tensor3D {
  const features = items.map((it) => it.features);
  const cats = items.map((it) => it.category);
  return () => m.promptPairs(cats, m.metaNet ? m.imageEmbeddings(features) : undefined);
}

export function promptLearnerTerms(m: PromptLearnerClip, items: TrainItem[]): LossTerm[] {
  const t = buildTerms(m, items, promptsOf(m, items));
  const layer = (l: number) =>
    t.seg(l, () => {
      const x = tf.tensor2d(t.tokens(l), [t.rows, t.width]);
      return m.patchFeatures(l, x, m.mhva ? tf.transpose(x) : undefined);
    });
  return [t.ce, ...m.layers.map(layer)];
}

export async function promptLearnerLossAndGradients(m: PromptLearnerClip, items: TrainItem[]): Promise<GradientResult> {
  const prompts = await m.tracePromptPairs(
    items.map((it) => it.category),
    items.map((it) => it.features),
  );
  const leaf = namedVariable(tf.clone(prompts.pairs), "prompt-features");
  try {
    const t = buildTerms(m, items, () => leaf as tf.Tensor as tf.Tensor3D);
    const vars = [...m.trainableVariables(), leaf];
    const result = gradientsOfTerms(vars, [t.ce]);
    for (const layer of m.layers) {
      const x = t.tokens(layer);
      if (m.mhva) {
        const w = m.mhva.weights.get(layer)!;
        const b = m.mhva.biases.get(layer)!;
        accumulateGradients(result, await frozenAdapterGradients(x, t.rows, t.width, w, b, vars, (adapted) => t.seg(layer, adapted)));
      } else {
        accumulateGradients(result, gradientsOfTerms(vars, [t.seg(layer, () => m.patchFeatures(layer, tf.tensor2d(x, [t.rows, t.width])))]));
      }
    }
    const dP = result.grads.get(leaf);
    result.grads.delete(leaf);
    if (!dP) return result;
    const grads = await prompts.pullback(dP as tf.Tensor3D);
    dP.dispose();
    accumulateGradients(result, { loss: 0, parts: {}, grads });
    return result;
  } finally {
    leaf.dispose();
    prompts.dispose();
  }
}
