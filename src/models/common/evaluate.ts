/**
 * The evaluation runner every method goes through, so tables compare like with like:
 * dataset (test split) -> cached features -> method.score -> per-class metrics (src/metrics, macro
 * mean, as all peers report) -> the results object of `simclip eval`.
 *
 * Few-shot (`shots` k > 0): for each seed, each class gets k normal training images drawn by that seed
 * (src/data sampleFewShot) as the method's memory; the per-seed tables are summarised as mean and
 * standard deviation (population, ddof 0, as numpy's default the peers' scripts use).
 */
import { InvalidArgumentError } from "../../errors.js";
import type { Dataset, Sample } from "../../data/sample.js";
import { sampleFewShot } from "../../data/few-shot.js";
import { CategoryEvaluator, DEFAULT_CATEGORY_METRICS, type EvaluationTable, type MetricName } from "../../metrics/index.js";
import { startProgress } from "../../progress.js";
import type { FeatureProvider, MaskLoader } from "./feature-provider.js";
import type { AnomalyMethod, MethodOutput } from "./types.js";

export interface EvaluateOptions {
  features: FeatureProvider;
  loadMask: MaskLoader;
  /** Only these classes (default: all of the dataset's). */
  categories?: string[];
  /** k normal reference images per class (0 = zero-shot). */
  shots?: number;
  /** Seeds of the k-shot draws (default [0]; the paper reports 5 seeds). Ignored when shots = 0. */
  seeds?: number[];
  /** Images per `score` call. */
  batchSize?: number;
  metrics?: readonly MetricName[];
  /** Sees every test image's map and score (e.g. to save figures); maps are [size * size]. */
  onImage?: (sample: Sample, map: Float32Array, score: number, seed: number | null) => void;
}

export interface MetricSummary {
  mean: number;
  std: number;
}

/** The JSON `simclip eval` writes. Values are fractions in [0, 1]; with several seeds, {mean, std}. */
export interface EvaluationResults {
  method: string;
  dataset: string;
  shots: number;
  seeds?: number[];
  per_category: Record<string, Record<string, number | MetricSummary>>;
  mean: Record<string, number | MetricSummary>;
  notes?: string[];
}

export async function evaluateMethod(method: AnomalyMethod, dataset: Dataset, opts: EvaluateOptions): Promise<EvaluationResults> {
  const shots = opts.shots ?? 0;
  if (!Number.isInteger(shots) || shots < 0) throw new InvalidArgumentError(`shots must be a non-negative integer, got ${shots}`);
  if (shots > 0 && !method.setMemory) {
    throw new InvalidArgumentError(
      `method "${method.name}" is zero-shot only (no few-shot memory); run it with --shots 0 or use a few-shot method such as simclip+`,
    );
  }
  const categories = opts.categories ?? dataset.categories;
  for (const c of categories) {
    if (!dataset.categories.includes(c)) throw new InvalidArgumentError(`class "${c}" is not in ${dataset.root} (it has ${dataset.categories.join(", ")})`);
  }
  const test = dataset.samples.filter((s) => s.split === "test" && categories.includes(s.category));
  if (test.length === 0) throw new InvalidArgumentError(`no test images for ${categories.join(", ")} in ${dataset.root}`);
  await opts.features.ensure(test.map((s) => s.imagePath));
  await method.prepare?.(categories);

  const seeds = shots > 0 ? (opts.seeds ?? [0]) : [null];
  const tables: EvaluationTable[] = [];
  for (const seed of seeds) {
    tables.push(await evaluateOnce(method, dataset, test, categories, shots, seed, opts));
  }
  const metrics = tables[0]!.metrics;
  const summarise = (get: (t: EvaluationTable) => number): number | MetricSummary => {
    const v = tables.map(get);
    if (v.length === 1) return v[0]!;
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return { mean, std: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length) };
  };
  const perCategory: EvaluationResults["per_category"] = {};
  for (const c of tables[0]!.categories) {
    perCategory[c] = Object.fromEntries(metrics.map((m) => [m, summarise((t) => t.perCategory[c]![m])]));
  }
  const results: EvaluationResults = {
    method: method.name,
    dataset: `${dataset.name}:${dataset.root}`,
    shots,
    per_category: perCategory,
    mean: Object.fromEntries(metrics.map((m) => [m, summarise((t) => t.mean[m])])),
  };
  if (shots > 0) results.seeds = seeds as number[];
  const notes = [...new Set(tables.flatMap((t) => t.notes))];
  if (notes.length > 0) results.notes = notes;
  return results;
}

async function evaluateOnce(
  method: AnomalyMethod,
  dataset: Dataset,
  test: Sample[],
  categories: string[],
  shots: number,
  seed: number | null,
  opts: EvaluateOptions,
): Promise<EvaluationTable> {
  const batchSize = opts.batchSize ?? 8;
  const evaluator = new CategoryEvaluator({ metrics: opts.metrics ?? DEFAULT_CATEGORY_METRICS });
  const progress = startProgress(seed === null ? `eval ${method.name}` : `eval ${method.name} seed ${seed}`, test.length);
  let done = 0;
  for (const category of categories) {
    const samples = test.filter((s) => s.category === category);
    if (shots > 0) {
      const refs = sampleFewShot(dataset.samples, category, shots, seed!);
      await opts.features.ensure(refs.map((s) => s.imagePath));
      await method.setMemory!(category, await Promise.all(refs.map((s) => opts.features.get(s.imagePath))));
    }
    // All of a class's outputs are held until finalizeCategory (SimCLIP+'s per-class min-max needs them).
    let outputs: MethodOutput = { size: method.size, maps: [], scores: new Float32Array(0) };
    for (let i = 0; i < samples.length; i += batchSize) {
      const chunk = samples.slice(i, i + batchSize);
      const features = await Promise.all(chunk.map((s) => opts.features.get(s.imagePath)));
      const out = await method.score({ features, categories: chunk.map(() => category) });
      const scores = new Float32Array(outputs.scores.length + out.scores.length);
      scores.set(outputs.scores);
      scores.set(out.scores, outputs.scores.length);
      outputs = { size: out.size, maps: [...outputs.maps, ...out.maps], scores };
      done += chunk.length;
      progress.update(done, { class: category });
    }
    if (method.finalizeCategory) outputs = method.finalizeCategory(category, outputs);
    const S = outputs.size;
    // A class with unmasked anomalies (custom data without ground truth) gets image metrics only:
    // pixel metrics would count its defects as normal pixels.
    const pixels = samples.every((s) => s.label === 0 || s.maskPath !== null);
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      if (pixels) {
        const mask = s.maskPath === null ? null : { data: await opts.loadMask(s.maskPath, S), height: S, width: S };
        evaluator.add(category, s.label, outputs.scores[i]!, mask, { data: outputs.maps[i]!, height: S, width: S });
      } else {
        evaluator.add(category, s.label, outputs.scores[i]!, null, null);
      }
      opts.onImage?.(s, outputs.maps[i]!, outputs.scores[i]!, seed);
    }
    evaluator.closeCategory(category);
  }
  progress.stop();
  return evaluator.result();
}
