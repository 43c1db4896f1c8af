/**
 * The opened resources of an experiment setup: the backbone, both datasets, one feature cache per
 * dataset (every method of a table reads the same cached features: the union of hooked layers at
 * one size), and trained checkpoints cached on disk, one training run per (method, config, training
 * dataset, training options, backbone).
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ClipModel } from "../clip/model.js";
import { loadMask } from "../clip/preprocess.js";
import { FeatureCache, clipFeatureSource } from "../cache/index.js";
import type { Dataset } from "../data/sample.js";
import { InvalidArgumentError } from "../errors.js";
import { loadCheckpoint } from "../models/common/checkpoint.js";
import { evaluateMethod, type EvaluationResults } from "../models/common/evaluate.js";
import { createMethod, methodDescriptor } from "../models/registry.js";
import { samplesTrainSource } from "../models/common/train-data.js";
import { trainingProtocolFor, type TrainHistory } from "../models/common/train-options.js";
import type { AnomalyMethod } from "../models/common/types.js";
import type { SimClipConfig } from "../models/simclip/config.js";
import { quarterLayers } from "../models/components/geometry.js";
import { openBackbone, openDataset } from "./resources.js";
import type { ExperimentSetup } from "./setup.js";

export type PaperDatasetName = "mvtec" | "visa";

/** The paper's cross-dataset protocol: train on one dataset's test split, evaluate on the other's. */
export interface CrossDatasetDirection {
  train: PaperDatasetName;
  test: PaperDatasetName;
}

export const CROSS_DATASET_DIRECTIONS: readonly CrossDatasetDirection[] = [
  { train: "mvtec", test: "visa" },
  { train: "visa", test: "mvtec" },
];

/** How the paper's tables name the datasets (Table 1's column prefixes, Table 4's rows). */
export const PAPER_DATASET_LABEL: Record<PaperDatasetName, string> = { mvtec: "MVTec", visa: "VisA" };

/** A method trained (or loaded from the cache) for one direction. */
export interface TrainedMethod {
  method: AnomalyMethod;
  /** Checkpoint directory, for wrappers built on it (SimCLIP+ on a SimCLIP checkpoint). */
  checkpointDir: string;
  history: TrainHistory;
}

export class ExperimentContext {
  private readonly datasets = new Map<PaperDatasetName, Dataset>();
  private cache: FeatureCache | null = null;

  private constructor(
    readonly setup: ExperimentSetup,
    readonly model: ClipModel,
    readonly size: number,
    readonly layers: number[],
  ) {}

  /**
   * Opens the backbone (writing the demo one once if configured). Size: the setup's, else 518 for
   * patch-14 backbones (the authors' input for ViT-L/14-336), else the backbone's own input size.
   */
  static async open(setup: ExperimentSetup): Promise<ExperimentContext> {
    const loaded = await openBackbone(setup.config);
    const v = loaded.config.vision;
    const size = setup.size ?? (v.patchSize === 14 && !setup.config.quick ? 518 : v.imageSize);
    const layers = setup.layers ?? quarterLayers(loaded.config);
    // The released code's backbone at this size (exact GELU away from the native size).
    const model = loaded.withActivation(setup.activation ?? loaded.releasedActivationAt(size));
    return new ExperimentContext(setup, model, size, layers);
  }

  async dataset(which: PaperDatasetName): Promise<Dataset> {
    let d = this.datasets.get(which);
    if (!d) {
      d = await openDataset(this.setup.config, which);
      this.datasets.set(which, d);
    }
    return d;
  }

  /**
   * The feature cache at the context's size and layers (filled on demand, with progress); methods
   * hooking a subset of the layers (Table 5) read the same entries.
   */
  async features(): Promise<FeatureCache> {
    this.cache ??= await FeatureCache.open(path.join(this.setup.dataDir, "features"), clipFeatureSource(this.model, { size: this.size, layers: this.layers }));
    return this.cache;
  }

  /** Extracts every image of both datasets into the cache up front (one progress bar per dataset). */
  async extractAll(): Promise<void> {
    for (const which of ["mvtec", "visa"] as const) {
      const d = await this.dataset(which);
      await (await this.features()).ensure(d.samples.map((s) => s.imagePath));
    }
  }

  /**
   * The backbone `name` runs on: the context's, with the activation its authors' CLIP runs at every
   * size where its descriptor names one (AnomalyCLIP: QuickGELU), unless the setup fixes the activation.
   */
  backboneFor(name: string): ClipModel {
    const fixed = methodDescriptor(name).activation;
    return fixed && this.setup.activation === undefined ? this.model.withActivation(fixed) : this.model;
  }

  /** An untrained method at the context's geometry; `simclip` takes config overrides (ablations). */
  async create(name: string, opts: { simclip?: Partial<SimClipConfig>; layers?: number[] } = {}): Promise<AnomalyMethod> {
    const seed = this.setup.training.seed;
    // Every map of a table is scored at one size; a method with its own layers (PatchCore, AnomalyCLIP) keeps them.
    const descriptor = methodDescriptor(name);
    const layers = opts.layers ?? (descriptor.ownLayers ? undefined : this.layers);
    const options = descriptor.scaledOptions?.(this.model.config);
    return createMethod(name, {
      backbone: this.backboneFor(name),
      size: this.size,
      ...(layers ? { layers } : {}),
      ...(options ? { options } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(opts.simclip ? { overrides: opts.simclip } : {}),
    });
  }

  /**
   * `name` trained on `direction.train`'s test split, from the checkpoint cache when this exact run
   * was done before (a run interrupted mid-training is redone: only a finished one has history.json).
   */
  async trained(name: string, direction: CrossDatasetDirection, opts: { simclip?: Partial<SimClipConfig>; layers?: number[] } = {}): Promise<TrainedMethod> {
    const train = await this.dataset(direction.train);
    const method = await this.create(name, opts);
    if (!method.fit) throw new InvalidArgumentError(`method "${name}" has nothing to train`);
    const protocol = trainingProtocolFor(method, train.name, this.setup.training);
    // The features it is scored on: AnomalyCLIP's DPAM variant has a cache of its own.
    const features = await this.featuresFor(method);
    // Keyed by the method's resolved config and the features it learns from, so Table 3's "MHVA + IPT"
    // row and Table 1's SimCLIP share one run, and a change of feature source retrains.
    const key = {
      name,
      config: method.config ?? null,
      size: method.size,
      layers: method.layers,
      train: `${train.name}:${train.root}`,
      training: protocol,
      backbone: this.backboneFor(name).fingerprint,
      features: features.source.id,
    };
    const hash = createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 16);
    const dir = path.join(this.setup.dataDir, "checkpoints", `${name.replace(/[^a-z0-9]+/gi, "_")}-${direction.train}-${hash}`);
    const historyFile = path.join(dir, "history.json");
    if (existsSync(historyFile)) {
      method.dispose?.();
      const loaded = await createMethod(name, { backbone: this.backboneFor(name), checkpoint: await loadCheckpoint(dir) });
      return { method: loaded, checkpointDir: dir, history: JSON.parse(await readFile(historyFile, "utf8")) as TrainHistory };
    }
    // Train into a folder of this process's own and publish it with one rename, so two notebooks
    // training the same run at once never see (or delete) each other's half-written checkpoint.
    const work = `${dir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
    await rm(dir, { recursive: true, force: true });
    const source = await samplesTrainSource(
      train.samples.filter((s) => s.split === "test"),
      {
        features,
        loadMask,
        size: method.size,
        mosaic: { rate: protocol.mosaicRate, dir: path.join(this.setup.dataDir, "mosaics") },
      },
    );
    const { mosaicRate: _mosaic, ...options } = protocol;
    const history = await method.fit(source, { ...options, checkpointDir: work, label: `train ${name} on ${direction.train}` });
    await writeFile(path.join(work, "history.json"), `${JSON.stringify({ key, ...history }, null, 2)}\n`);
    try {
      await rename(work, dir);
    } catch (err) {
      // Another process published the same (deterministic) run first: keep theirs.
      if (!existsSync(historyFile)) throw err;
      await rm(work, { recursive: true, force: true });
    }
    return { method, checkpointDir: dir, history };
  }

  /**
   * The cache `method` reads: the shared CLIP one, or for a method with its own backbone (PatchCore on
   * WideResNet-50-2) one of its own source beside it.
   */
  async featuresFor(method: Pick<AnomalyMethod, "featureSource">): Promise<FeatureCache> {
    const own = method.featureSource?.();
    return own ? FeatureCache.open(path.join(this.setup.dataDir, "features"), own) : this.features();
  }

  /** The shared evaluation runner on `which`'s test split (k-shot with the setup's seeds when shots > 0). */
  async evaluate(method: AnomalyMethod, which: PaperDatasetName, shots = 0): Promise<EvaluationResults> {
    return evaluateMethod(method, await this.dataset(which), {
      features: await this.featuresFor(method),
      loadMask,
      shots,
      seeds: this.setup.seeds,
      batchSize: this.setup.batchSize,
    });
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

/**
 * Runs `fn` on a context: the one given (left open, so several artefacts share one backbone), or one
 * opened for `setup` and released afterwards.
 */
export async function withExperiment<T>(on: ExperimentSetup | ExperimentContext, fn: (ctx: ExperimentContext) => Promise<T>): Promise<T> {
  if (on instanceof ExperimentContext) return fn(on);
  const ctx = await ExperimentContext.open(on);
  try {
    return await fn(ctx);
  } finally {
    await ctx.dispose();
  }
}
