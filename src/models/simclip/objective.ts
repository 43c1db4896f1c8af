/**
 * SimCLIP's training objective, as the authors weight it (peer-conventions.md):
 *   loss = 1.3 * CE(100 * <image feature, prompt features>, label)
 *        + 0.08 * sum over hooked layers of (focal + dice) on the upsampled anomaly maps.
 * The CE compares the global image feature (ln_post'd class token @ trainable visual projection) with
 * the prompts the config's `imagePrompts` names (authors: the plain ones). Training maps are not
 * smoothed (the Gaussian is a test-time step).
 *
 * Returned as one term for the CE and one per layer, each differentiated on its own tape (the
 * shared loop sums their gradients), so that only one layer's activations exist at a time.
 */
import { tf } from "../../tf.js";
import { ShapeError } from "../../errors.js";
import { crossEntropy, diceLoss, focalLossBinary } from "../losses.js";
import { selectRows, stackLayerTokens, stackPooled } from "../common/features.js";
import type { LossTerm, TrainItem } from "../common/types.js";
import { anomalyProbability, l2NormalizeRows, logitDifferenceGrid } from "./maps.js";
import type { SimClip } from "./model.js";

export function simclipObjective(m: SimClip, items: TrainItem[]): LossTerm[] {
  const n = items.length;
  const S = m.size;
  const { scale, ceWeight, segWeight } = { scale: m.config.logitScale, ceWeight: m.config.ceWeight, segWeight: m.config.segWeight };
  const cats = [...new Set(items.map((it) => it.category))];
  const catIndex = items.map((it) => cats.indexOf(it.category));
  const masks = new Float32Array(n * S * S);
  items.forEach((it, i) => {
    if (it.mask.length !== S * S) {
      throw new ShapeError(`training mask of a "${it.category}" image has ${it.mask.length} pixels, expected ${S}x${S} (load masks at the model's --size)`);
    }
    masks.set(it.mask, i * S * S);
  });
  const features = items.map((it) => it.features);
  if (features[0]!.grid !== m.grid) {
    throw new ShapeError(`cached features have a ${features[0]!.grid}x${features[0]!.grid} grid, SimCLIP at size ${S} needs ${m.grid}x${m.grid}: extract features at --size ${S}`);
  }

  const ceTerm: LossTerm = () => {
    const { plain, refined } = m.promptEmbeddings(cats);
    const prompts = m.config.imagePrompts === "plain" ? plain : refined;
    const img = l2NormalizeRows(tf.matMul(stackPooled(features), m.visualProjection));
    const per = selectRows(prompts, catIndex); // [n, 2, E]
    const logits = tf.mul(tf.sum(tf.mul(tf.expandDims(img, 1), per), 2), scale) as tf.Tensor2D;
    const ce = crossEntropy(logits, items.map((it) => it.label));
    return { loss: tf.mul(ce, ceWeight) as tf.Scalar, parts: { ce } };
  };

  const layerTerm = (layer: number): LossTerm => () => {
    const P = m.grid * m.grid;
    const x = tf.tensor2d(stackLayerTokens(features, layer), [n * P, features[0]!.width]);
    const adapted = m.projectPatches(layer, x, tf.transpose(x));
    const { refined } = m.promptEmbeddings(cats);
    const [t0, t1] = tf.unstack(refined, 1) as [tf.Tensor2D, tf.Tensor2D];
    const diff = selectRows(tf.sub(t1, t0), catIndex) as tf.Tensor2D;
    const p = anomalyProbability(logitDifferenceGrid(adapted, diff, scale, m.grid), S);
    const g = tf.tensor3d(masks, [n, S, S]);
    const focal = focalLossBinary(p, g);
    const dice = diceLoss(p, g);
    return { loss: tf.mul(tf.add(focal, dice), segWeight) as tf.Scalar, parts: { [`focal_${layer}`]: focal, [`dice_${layer}`]: dice } };
  };

  return [ceTerm, ...m.layers.map(layerTerm)];
}
