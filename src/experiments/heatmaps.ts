/**
 * Data of the paper's qualitative figures: one row per test image (image, ground truth, one map per
 * method), for Figure 2 (SimCLIP zero-shot) and Figure 4 (SimCLIP zero-shot beside SimCLIP+
 * k-shot). Each dataset's images are scored by the models trained on the other dataset, as in the
 * tables; the rows go to `heatmapGridFigure` (notebooks) or `writeHeatmapGridFile` (PNG).
 */
import { loadMask } from "../clip/preprocess.js";
import { sampleFewShot } from "../data/few-shot.js";
import type { Dataset, Sample } from "../data/sample.js";
import { InvalidArgumentError } from "../errors.js";
import { loadCheckpoint } from "../models/common/checkpoint.js";
import { createMethod } from "../models/registry.js";
import type { AnomalyMethod } from "../models/common/types.js";
import { loadRgb } from "../viz/image.js";
import type { HeatmapRow } from "../viz/heatmap-grid.js";
import { PAPER_DATASET_LABEL, CROSS_DATASET_DIRECTIONS, withExperiment, type CrossDatasetDirection, type ExperimentContext } from "./context.js";
import { experimentLabel, isSyntheticExperiment, type ExperimentSetup } from "./setup.js";

export interface HeatmapFigureOptions {
  /** "simclip" (zero-shot) and/or "simclip+" (k-shot); Figure 2: ["simclip"], Figure 4: both. */
  methods?: ("simclip" | "simclip+")[];
  directions?: readonly CrossDatasetDirection[];
  /** Anomalous test images per class (default 1). */
  perCategory?: number;
  /** k of SimCLIP+'s memory (default 1, as Figure 4) and the seed of its draw (default 0). */
  shots?: number;
  seed?: number;
}

export interface HeatmapFigureData {
  rows: HeatmapRow[];
  mapLabels: string[];
  size: number;
  setup: string;
  synthetic: boolean;
}

/** The first `perCategory` anomalous test images of each class, in the dataset's class order. */
export function anomalousTestSamples(data: Dataset, perCategory = 1): Sample[] {
  return data.categories.flatMap((c) => data.samples.filter((s) => s.category === c && s.split === "test" && s.label === 1).slice(0, perCategory));
}

export interface MemoryDraw {
  /** The samples the k normal references are drawn from (the dataset's, as the evaluation draws them). */
  pool: Sample[];
  shots: number;
  seed: number;
}

/**
 * `method`'s anomaly map of each sample, at the context's size, from the cached features; a
 * few-shot method first gets the class's memory drawn from `memory`.
 */
export async function anomalyMaps(ctx: ExperimentContext, m: AnomalyMethod, samples: Sample[], memory?: MemoryDraw): Promise<Float32Array[]> {
  const features = await ctx.features();
  await features.ensure(samples.map((s) => s.imagePath));
  await m.prepare?.([...new Set(samples.map((s) => s.category))]);
  const maps: Float32Array[] = [];
  for (const s of samples) {
    if (m.setMemory) {
      if (memory === undefined)
        throw new InvalidArgumentError(`method "${m.name}" scores with a memory of normal images: give anomalyMaps the pool, shots and seed to draw it from`);
      const refs = sampleFewShot(memory.pool, s.category, memory.shots, memory.seed);
      await features.ensure(refs.map((r) => r.imagePath));
      await m.setMemory(s.category, await Promise.all(refs.map((r) => features.get(r.imagePath))));
    }
    let out = await m.score({ features: [await features.get(s.imagePath)], categories: [s.category] });
    if (m.finalizeCategory) out = m.finalizeCategory(s.category, out);
    maps.push(out.maps[0]!);
  }
  return maps;
}

export async function heatmapFigure(on: ExperimentSetup | ExperimentContext, opts: HeatmapFigureOptions = {}): Promise<HeatmapFigureData> {
  const methods = opts.methods ?? ["simclip", "simclip+"];
  const shots = opts.shots ?? 1;
  const seed = opts.seed ?? 0;
  return withExperiment(on, async (ctx) => {
    const rows: HeatmapRow[] = [];
    for (const direction of opts.directions ?? CROSS_DATASET_DIRECTIONS) {
      const data = await ctx.dataset(direction.test);
      const samples = anomalousTestSamples(data, opts.perCategory);
      const simclip = await ctx.trained("simclip", direction);
      const columns: Float32Array[][] = [];
      try {
        for (const name of methods) {
          const m =
            name === "simclip"
              ? simclip.method
              : await createMethod("simclip+", { backbone: ctx.model, checkpoint: await loadCheckpoint(simclip.checkpointDir) });
          try {
            columns.push(await anomalyMaps(ctx, m, samples, { pool: data.samples, shots, seed }));
          } finally {
            if (m !== simclip.method) m.dispose?.();
          }
        }
      } finally {
        simclip.method.dispose?.();
      }
      for (let i = 0; i < samples.length; i++) {
        const s = samples[i]!;
        rows.push({
          label: `${PAPER_DATASET_LABEL[direction.test]} ${s.category} / ${s.defectType}`,
          image: await loadRgb(s.imagePath, ctx.size),
          mask: s.maskPath === null ? null : await loadMask(s.maskPath, ctx.size),
          maps: columns.map((c) => c[i]!),
        });
      }
    }
    const mapLabels = methods.map((m) => (m === "simclip" ? "SimCLIP (0-shot)" : `SimCLIP+ (${shots}-shot)`));
    return { rows, mapLabels, size: ctx.size, setup: experimentLabel(ctx.setup), synthetic: isSyntheticExperiment(ctx.setup) };
  });
}
