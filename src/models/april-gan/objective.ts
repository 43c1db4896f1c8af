/**
 * APRIL-GAN's training loss (train.py): sum over hooked layers of focal + dice on the upsampled
 * anomaly-probability maps, no image-level term, each layer on its own tape. The same losses as
 * SimCLIP's (`models/losses.ts`, written as APRIL-GAN's loss.py computes them).
 */
import { tf } from "../../tf.js";
import { ShapeError } from "../../errors.js";
import { diceLoss, focalLossBinary } from "../losses.js";
import { stackLayerTokens } from "../common/features.js";
import type { LossTerm, TrainItem } from "../common/types.js";
import { anomalyProbability, logitDifferenceGrid } from "../simclip/maps.js";
import type { AprilGan } from "./model.js";

export function stackMasks(items: TrainItem[], size: number, method: string): Float32Array {
  const masks = new Float32Array(items.length * size * size);
  items.forEach((it, i) => {
    if (it.mask.length !== size * size) {
      throw new ShapeError(`${method}: training mask of a "${it.category}" image has ${it.mask.length} pixels, expected ${size}x${size} (load masks at the model's --size)`);
    }
    masks.set(it.mask, i * size * size);
  });
  return masks;
}

export function aprilGanObjective(m: AprilGan, items: TrainItem[]): LossTerm[] {
  const n = items.length;
  const S = m.size;
  const P = m.grid * m.grid;
  const features = items.map((it) => it.features);
  if (features[0]!.grid !== m.grid) throw new ShapeError(`APRIL-GAN: cached features have a ${features[0]!.grid}x${features[0]!.grid} grid, size ${S} needs ${m.grid}x${m.grid}`);
  const masks = stackMasks(items, S, "APRIL-GAN");
  const E = m.backbone.config.embedDim;
  const diff = m.prompts.perImage(items.map((it) => it.category)).diff;
  return m.layers.map((layer): LossTerm => () => {
    const x = tf.tensor2d(stackLayerTokens(features, layer), [n * P, features[0]!.width]);
    const adapted = m.adapters.apply(layer, x, tf.transpose(x));
    const p = anomalyProbability(logitDifferenceGrid(adapted, tf.tensor2d(diff, [n, E]), m.config.logitScale, m.grid), S);
    const g = tf.tensor3d(masks, [n, S, S]);
    const focal = focalLossBinary(p, g);
    const dice = diceLoss(p, g);
    return { loss: tf.add(focal, dice) as tf.Scalar, parts: { [`focal_${layer}`]: focal, [`dice_${layer}`]: dice } };
  });
}
