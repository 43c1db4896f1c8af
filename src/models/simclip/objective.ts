/**
 * SimCLIP's training objective, as the authors weight it (released code; docs/simclip.md):
 *   loss = 1.3 * CE(100 * <image feature, prompt features>, label)
 *        + 0.08 * sum over hooked layers of (focal + dice) on the upsampled anomaly maps.
 * The CE compares the global image feature (ln_post'd class token @ trainable visual projection) with
 * the prompts the config's `imagePrompts` names (authors: the plain ones). Training maps are not
 * smoothed (the Gaussian is a test-time step).
 *
 * One term for the CE and one per layer, each differentiated on its own tape (gradients summed), so
 * that only one layer's activations exist at a time. Two routes to the same numbers:
 * - `simclipObjective`: everything on tfjs (MHVA through a custom gradient dW = X^T dY);
 * - `simclipLossAndGradients` (what training uses): the adapters' two big products, Y = X W and
 *   dW = X^T dY, on onnxruntime (~8x tfjs-wasm's matmul speed), the rest on tfjs with Y as the leaf.
 */
import { tf } from "../../tf.js";
import { ShapeError } from "../../errors.js";
import { crossEntropy, focalDiceFromLogits } from "../components/losses.js";
import { selectRows, stackLayerTokens, stackMasks, stackPooled } from "../common/features.js";
import { frozenAdapterGradients } from "../components/frozen-adapter.js";
import { accumulateGradients, gradientsOfTerms } from "../common/gradients.js";
import type { GradientResult, ImageFeatures, LossTerm, TrainItem } from "../common/types.js";
import { anomalyLogits, l2NormalizeRows, logitDifferenceGrid } from "../components/maps.js";
import type { SimClip } from "./model.js";

interface Batch {
  n: number;
  features: ImageFeatures[];
  cats: string[];
  catIndex: number[];
  masks: Float32Array;
}

function prepareBatch(m: SimClip, items: TrainItem[]): Batch {
  const S = m.size;
  const n = items.length;
  const cats = [...new Set(items.map((it) => it.category))];
  const masks = stackMasks(items, S, "SimCLIP");
  const features = items.map((it) => it.features);
  if (features[0]!.grid !== m.grid) {
    throw new ShapeError(
      `cached features have a ${features[0]!.grid}x${features[0]!.grid} grid, SimCLIP at size ${S} needs ${m.grid}x${m.grid}: extract features at --size ${S}`,
    );
  }
  return { n, features, cats, catIndex: items.map((it) => cats.indexOf(it.category)), masks };
}

function ceTerm(m: SimClip, b: Batch, labels: number[]): LossTerm {
  return () => {
    const { plain, refined } = m.promptEmbeddings(b.cats);
    const prompts = m.config.imagePrompts === "plain" ? plain : refined;
    const img = l2NormalizeRows(tf.matMul(stackPooled(b.features), m.visualProjection));
    const per = selectRows(prompts, b.catIndex); // [n, 2, E]
    const logits = tf.mul(tf.sum(tf.mul(tf.expandDims(img, 1), per), 2), m.config.logitScale) as tf.Tensor2D;
    const ce = crossEntropy(logits, labels);
    return { loss: tf.mul(ce, m.config.ceWeight) as tf.Scalar, parts: { ce } };
  };
}

/** The segmentation term of one layer, given a function producing its adapted patch features [n * P, E] on the tape. */
function segTerm(m: SimClip, b: Batch, layer: number, adapted: () => tf.Tensor2D): LossTerm {
  return () => {
    const { refined } = m.promptEmbeddings(b.cats);
    const [t0, t1] = tf.unstack(refined, 1) as [tf.Tensor2D, tf.Tensor2D];
    const diff = selectRows(tf.sub(t1, t0), b.catIndex) as tf.Tensor2D;
    const z = anomalyLogits(logitDifferenceGrid(adapted(), diff, m.config.logitScale, m.grid), m.size);
    const [focal, dice] = tf.unstack(focalDiceFromLogits(z, tf.tensor3d(b.masks, [b.n, m.size, m.size]))) as [tf.Scalar, tf.Scalar];
    return { loss: tf.mul(tf.add(focal, dice), m.config.segWeight) as tf.Scalar, parts: { [`focal_${layer}`]: focal, [`dice_${layer}`]: dice } };
  };
}

export function simclipObjective(m: SimClip, items: TrainItem[]): LossTerm[] {
  const b = prepareBatch(m, items);
  const P = m.grid * m.grid;
  const layerTerm = (layer: number) =>
    segTerm(m, b, layer, () => {
      const x = tf.tensor2d(stackLayerTokens(b.features, layer), [b.n * P, b.features[0]!.width]);
      return m.projectPatches(layer, x, tf.transpose(x));
    });
  return [
    ceTerm(
      m,
      b,
      items.map((it) => it.label),
    ),
    ...m.layers.map(layerTerm),
  ];
}

export async function simclipLossAndGradients(m: SimClip, items: TrainItem[]): Promise<GradientResult> {
  const b = prepareBatch(m, items);
  const vars = m.trainableVariables();
  const result = gradientsOfTerms(vars, [
    ceTerm(
      m,
      b,
      items.map((it) => it.label),
    ),
  ]);
  const P = m.grid * m.grid;
  const W = b.features[0]!.width;
  for (const layer of m.layers) {
    const x = stackLayerTokens(b.features, layer);
    if (!m.mhva) {
      accumulateGradients(result, gradientsOfTerms(vars, [segTerm(m, b, layer, () => m.projectPatches(layer, tf.tensor2d(x, [b.n * P, W])))]));
      continue;
    }
    const weight = m.mhva.weights.get(layer)!;
    const bias = m.mhva.biases.get(layer)!;
    accumulateGradients(result, await frozenAdapterGradients(x, b.n * P, W, weight, bias, vars, (adapted) => segTerm(m, b, layer, adapted)));
  }
  return result;
}
