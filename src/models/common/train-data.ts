/**
 * Training data for zero-shot methods, as the paper's protocol uses it: the *test* split of an
 * auxiliary dataset (all its classes, anomalous images with their masks), read through the feature
 * cache. Masks are required: the segmentation losses need them.
 */
import { InvalidArgumentError } from "../../errors.js";
import type { Sample } from "../../data/sample.js";
import type { FeatureProvider, MaskLoader } from "./feature-provider.js";
import type { TrainItem, TrainSource } from "./types.js";

/** Anomalous training images without a mask: the segmentation losses cannot use them. */
export class MissingMaskError extends InvalidArgumentError {
  override name = "MissingMaskError";
}

export interface TrainSourceOptions {
  features: FeatureProvider;
  loadMask: MaskLoader;
  /** Map size S the masks are loaded at (the method's size). */
  size: number;
}

/**
 * A TrainSource over samples (normally `dataset.samples.filter(s => s.split === "test")`). Fails up front,
 * naming the images, if any anomalous sample has no mask.
 */
export async function samplesTrainSource(samples: Sample[], opts: TrainSourceOptions): Promise<TrainSource> {
  if (samples.length === 0) throw new InvalidArgumentError("no training samples: the dataset split is empty");
  const unmasked = samples.filter((s) => s.label === 1 && s.maskPath === null);
  if (unmasked.length > 0) {
    throw new MissingMaskError(
      `${unmasked.length} anomalous training image(s) have no ground-truth mask, e.g. ${unmasked.slice(0, 3).map((s) => s.imagePath).join(", ")}: ` +
        "SimCLIP's focal and dice losses need pixel masks; train on a dataset with masks (MVTec-AD, VisA, or a custom layout with ground_truth/)",
    );
  }
  await opts.features.ensure(samples.map((s) => s.imagePath));
  const empty = new Uint8Array(opts.size * opts.size);
  return {
    length: samples.length,
    categories: [...new Set(samples.map((s) => s.category))].sort(),
    async get(i: number): Promise<TrainItem> {
      const s = samples[i]!;
      const [features, mask] = await Promise.all([
        opts.features.get(s.imagePath),
        s.maskPath === null ? Promise.resolve(empty) : opts.loadMask(s.maskPath, opts.size),
      ]);
      return { features, category: s.category, label: s.label, mask };
    },
  };
}
