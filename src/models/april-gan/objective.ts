/**
 * APRIL-GAN's training loss (train.py): sum over hooked layers of focal + dice on the upsampled
 * anomaly-probability maps, no image-level term, each layer on its own tape. The same losses as
 * SimCLIP's (`models/losses.ts`, written as APRIL-GAN's loss.py computes them).
 *
 * Two routes to the same gradients, as SimCLIP has: `aprilGanObjective` (all tfjs, the adapter
 * through a custom gradient) and `aprilGanLossAndGradients` (what training uses): the adapter's two
 * big products Y = X W and dW = X^T dY on onnxruntime (`frozenAdapterGradients`), the rest on tfjs.
 */
import { tf } from "../../tf.js";
import { ShapeError } from "../../errors.js";
import { diceLoss, focalLossBinary } from "../components/losses.js";
import { stackLayerTokens, stackMasks } from "../common/features.js";
import { accumulateGradients } from "../common/gradients.js";
import { frozenAdapterGradients } from "../components/frozen-adapter.js";
import type { GradientResult, LossTerm, TrainItem } from "../common/types.js";
import { anomalyProbability, logitDifferenceGrid } from "../components/maps.js";
import type { AprilGan } from "./model.js";

interface Batch {
  n: number;
  P: number;
  width: number;
  tokens: (layer: number) => Float32Array;
  masks: Float32Array;
  diff: Float32Array;
}

function prepareBatch(m: AprilGan, items: TrainItem[]): Batch {
  const features = items.map((it) => it.features);
  if (features[0]!.grid !== m.grid)
    throw new ShapeError(`APRIL-GAN: cached features have a ${features[0]!.grid}x${features[0]!.grid} grid, size ${m.size} needs ${m.grid}x${m.grid}`);
  return {
    n: items.length,
    P: m.grid * m.grid,
    width: features[0]!.width,
    tokens: (layer) => stackLayerTokens(features, layer),
    masks: stackMasks(items, m.size, "APRIL-GAN"),
    diff: m.prompts.perImage(items.map((it) => it.category)).diff,
  };
}

function segTerm(m: AprilGan, b: Batch, layer: number, adapted: () => tf.Tensor2D): LossTerm {
  return () => {
    const S = m.size;
    const E = m.backbone.config.embedDim;
    const p = anomalyProbability(logitDifferenceGrid(adapted(), tf.tensor2d(b.diff, [b.n, E]), m.config.logitScale, m.grid), S);
    const g = tf.tensor3d(b.masks, [b.n, S, S]);
    const focal = focalLossBinary(p, g);
    const dice = diceLoss(p, g);
    return { loss: tf.add(focal, dice) as tf.Scalar, parts: { [`focal_${layer}`]: focal, [`dice_${layer}`]: dice } };
  };
}

export function aprilGanObjective(m: AprilGan, items: TrainItem[]): LossTerm[] {
  const b = prepareBatch(m, items);
  return m.layers.map((layer) =>
    segTerm(m, b, layer, () => {
      const x = tf.tensor2d(b.tokens(layer), [b.n * b.P, b.width]);
      return m.adapters.apply(layer, x, tf.transpose(x));
    }),
  );
}

export async function aprilGanLossAndGradients(m: AprilGan, items: TrainItem[]): Promise<GradientResult> {
  const b = prepareBatch(m, items);
  const result: GradientResult = { loss: 0, parts: {}, grads: new Map() };
  for (const layer of m.layers) {
    const w = m.adapters.weights.get(layer)!;
    const bias = m.adapters.biases.get(layer)!;
    accumulateGradients(result, await frozenAdapterGradients(b.tokens(layer), b.n * b.P, b.width, w, bias, [bias], (adapted) => segTerm(m, b, layer, adapted)));
  }
  return result;
}
