/**
 * Training data for zero-shot methods, as the paper's protocol uses it: the *test* split of an
 * auxiliary dataset (all its classes, anomalous images with their masks), read through the feature
 * cache, optionally with the authors' 2 x 2 mosaic augmentation (`mosaic.ts`). Masks are required:
 * the segmentation losses need them.
 */
import path from "node:path";
import { InvalidArgumentError } from "../../errors.js";
import { startProgress } from "../../progress.js";
import type { Sample } from "../../data/sample.js";
import type { FeatureProvider, MaskLoader } from "./feature-provider.js";
import { checkMosaicRate, planMosaics, writeMosaic, type MosaicFile, type MosaicOptions } from "./mosaic.js";
import { defaultFeatureCacheDir } from "./setup.js";
import type { TrainItem, TrainSource } from "./types.js";

export type { MosaicOptions } from "./mosaic.js";

/** Anomalous training images without a mask: the segmentation losses cannot use them. */
export class MissingMaskError extends InvalidArgumentError {
  override name = "MissingMaskError";
}

export interface TrainSourceOptions {
  features: FeatureProvider;
  loadMask: MaskLoader;
  /** Map size S the masks are loaded at (the method's size). */
  size: number;
  /**
   * The authors' 2 x 2 mosaic augmentation (rate 0.2 on MVTec); default off. Each epoch's mosaics
   * follow from the training seed and the epoch (the training loop's `beginEpoch`).
   */
  mosaic?: MosaicOptions;
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
      `${unmasked.length} anomalous training image(s) have no ground-truth mask, e.g. ${unmasked
        .slice(0, 3)
        .map((s) => s.imagePath)
        .join(", ")}: ` +
        "SimCLIP's focal and dice losses need pixel masks; train on a dataset with masks (MVTec-AD, VisA, or a custom layout with ground_truth/)",
    );
  }
  await opts.features.ensure(samples.map((s) => s.imagePath));
  const empty = new Uint8Array(opts.size * opts.size);
  const source: TrainSource = {
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
  const rate = opts.mosaic?.rate ?? 0;
  checkMosaicRate(rate);
  return rate === 0 ? source : withMosaics(source, samples, { ...opts, mosaic: { rate, dir: opts.mosaic?.dir } });
}

/**
 * `source` with each epoch's mosaics (drawn, written and their features extracted in one batch when
 * the epoch begins) standing in for the items they replace.
 */
function withMosaics(source: TrainSource, samples: Sample[], opts: TrainSourceOptions & { mosaic: MosaicOptions }): TrainSource {
  const dir = opts.mosaic.dir ?? path.join(defaultFeatureCacheDir(), "mosaics");
  let current: Map<number, MosaicFile> | null = null;
  return {
    length: source.length,
    categories: source.categories,
    async beginEpoch(epoch: number, seed: number): Promise<void> {
      const plan = planMosaics(samples, opts.mosaic.rate, seed, epoch);
      const files = new Map<number, MosaicFile>();
      const progress = startProgress(`mosaics (epoch ${epoch + 1})`, plan.size);
      try {
        for (const [i, tiles] of plan) {
          files.set(
            i,
            await writeMosaic(
              tiles.map((t) => samples[t]!),
              opts.size,
              dir,
            ),
          );
          progress.update(files.size);
        }
      } finally {
        progress.stop();
      }
      await opts.features.ensure([...files.values()].map((f) => f.imagePath));
      current = files;
    },
    async get(i: number): Promise<TrainItem> {
      if (current === null) {
        throw new InvalidArgumentError("this training source draws mosaics per epoch: call beginEpoch(epoch, seed) before get() (trainLoop does)");
      }
      const m = current.get(i);
      if (!m) return source.get(i);
      const [features, mask] = await Promise.all([opts.features.get(m.imagePath), opts.loadMask(m.maskPath, opts.size)]);
      // The released dataset keeps the label of the item the mosaic replaces.
      return { features, category: samples[i]!.category, label: samples[i]!.label, mask };
    },
  };
}
