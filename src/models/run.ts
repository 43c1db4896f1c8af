/**
 * One library call for any registered method: build, optionally train, evaluate.
 * RegAD and AnomalyGPT are not implemented: tables quote the paper's numbers for them.
 */
import path from "node:path";
import { InvalidArgumentError } from "../errors.js";
import type { ClipModel } from "../clip/model.js";
import { loadMask } from "../clip/preprocess.js";
import { loadDataset } from "../data/load.js";
import type { Dataset } from "../data/sample.js";
import { createMethod } from "./registry.js";
import type { MethodOptionValue } from "./common/method-options.js";
import { loadCheckpoint } from "./common/checkpoint.js";
import { defaultFeatureCacheDir, openMethodFeatures } from "./common/setup.js";
import { samplesTrainSource } from "./common/train-data.js";
import { evaluateMethod, type EvaluationResults } from "./common/evaluate.js";
import { trainingProtocolFor, type TrainHistory, type TrainOptions } from "./common/train-options.js";
import type { AnomalyMethod } from "./common/types.js";

export interface RunRegisteredMethodOptions {
  /** The frozen backbone (ClipModel.load). */
  model: ClipModel;
  /** Test data: a spec ("mvtec:ROOT" | "visa:ROOT" | "custom:ROOT") or a loaded dataset; omitted: train only. */
  dataset?: string | Dataset;
  /** A trained checkpoint directory (simclip train / train-baseline --out). */
  checkpoint?: string;
  /**
   * Train first on the test split of this auxiliary dataset (the zero-shot protocol: train on MVTec,
   * test on VisA and back) with the method's own recipe for that dataset (`trainingProtocol`: epochs,
   * batch, schedule, mosaic rate), any field of `options` replacing the recipe's (their
   * `checkpointDir` saves the result). Mosaics are written under `<cacheDir>/mosaics`.
   */
  train?: { dataset: string | Dataset; options?: TrainOptions & { mosaicRate?: number } };
  shots?: number;
  seeds?: number[];
  size?: number;
  layers?: number[];
  categories?: string[];
  /** Feature cache root (default: the CLI's). */
  cacheDir?: string;
  /** Method options (`createMethod`'s, e.g. `{ backbone: "clip" }` for PatchCore). */
  options?: Readonly<Record<string, MethodOptionValue>>;
  batchSize?: number;
}

export interface RunRegisteredMethodResult {
  /** Same format as `simclip eval` writes and SimCLIP's tables use (absent when no `dataset` was given). */
  results?: EvaluationResults;
  method: AnomalyMethod;
  history?: TrainHistory;
}

const asDataset = (d: string | Dataset, categories?: string[]): Promise<Dataset> =>
  typeof d === "string" ? loadDataset(d, categories ? { categories } : {}) : Promise.resolve(d);

/**
 * One library call for any registered method (SimCLIP, SimCLIP+ or a baseline): build it (from a
 * checkpoint if given), optionally train it, and evaluate it with the shared evaluation runner. The
 * caller disposes `method` (and the model).
 */
export async function runRegisteredMethod(name: string, o: RunRegisteredMethodOptions): Promise<RunRegisteredMethodResult> {
  const checkpoint = o.checkpoint ? await loadCheckpoint(o.checkpoint) : undefined;
  const method = await createMethod(name, { backbone: o.model, checkpoint, size: o.size, layers: o.layers, ...(o.options ? { options: o.options } : {}) });
  const cacheDir = o.cacheDir ?? defaultFeatureCacheDir();
  const features = await openMethodFeatures(o.model, method, cacheDir);
  let history: TrainHistory | undefined;
  if (o.train) {
    if (!method.fit) throw new InvalidArgumentError(`method "${name}" has nothing to train; drop the \`train\` option`);
    const aux = await asDataset(o.train.dataset);
    const { mosaicRate: asked, ...options } = o.train.options ?? {};
    const { mosaicRate, ...protocol } = trainingProtocolFor(method, aux.name, { ...options, mosaicRate: asked });
    const source = await samplesTrainSource(
      aux.samples.filter((s) => s.split === "test"),
      {
        features,
        loadMask,
        size: method.size,
        mosaic: { rate: mosaicRate, dir: path.join(cacheDir, "mosaics") },
      },
    );
    history = await method.fit(source, { ...options, ...protocol });
  }
  if (!o.dataset) return history ? { method, history } : { method };
  const dataset = await asDataset(o.dataset, o.categories);
  const results = await evaluateMethod(method, dataset, {
    features,
    loadMask,
    shots: o.shots ?? 0,
    ...(o.seeds ? { seeds: o.seeds } : {}),
    ...(o.categories ? { categories: o.categories } : {}),
    batchSize: o.batchSize ?? 8,
  });
  return history ? { results, method, history } : { results, method };
}
