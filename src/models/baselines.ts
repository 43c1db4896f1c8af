/**
 * Factories of the baselines for the method registry (`common/registry.ts`), so that
 * `simclip eval --method NAME` and `createMethod(NAME, ctx)` build them the way SimCLIP is built:
 * from a checkpoint when given (trained baselines), untrained otherwise.
 * RegAD and AnomalyGPT are not implemented: tables quote the paper's numbers for them
 * (src/experiments/paper-tables.ts).
 */
import { InvalidArgumentError } from "../errors.js";
import type { ClipModel } from "../clip/model.js";
import { loadMask } from "../clip/preprocess.js";
import { loadDataset } from "../data/load.js";
import type { Dataset } from "../data/sample.js";
import { createMethod, type MethodContext, type MethodOptionValue } from "./common/registry.js";
import { CheckpointMismatchError, loadCheckpoint } from "./common/checkpoint.js";
import { openMethodFeatures } from "./common/setup.js";
import { samplesTrainSource } from "./common/train-data.js";
import { evaluateMethod, type EvaluationResults } from "./common/evaluate.js";
import type { TrainHistory, TrainOptions } from "./common/train-options.js";
import type { AnomalyMethod } from "./common/types.js";
import { ClipAc } from "./clip-ac/model.js";
import { AprilGan } from "./april-gan/model.js";
import { PatchCore } from "./patchcore/model.js";
import { PromptLearnerClip } from "./coop/model.js";
import type { PromptLearnerVariant } from "./coop/config.js";

function noCheckpoint(method: string, ctx: MethodContext): void {
  if (ctx.checkpoint) throw new InvalidArgumentError(`${method} learns nothing, so it takes no checkpoint: drop --checkpoint`);
}

function geometry(ctx: MethodContext): { size?: number; layers?: number[] } {
  const g: { size?: number; layers?: number[] } = {};
  if (ctx.size !== undefined) g.size = ctx.size;
  if (ctx.layers !== undefined) g.layers = ctx.layers;
  return g;
}

export async function createClipAcMethod(ctx: MethodContext): Promise<AnomalyMethod> {
  noCheckpoint("CLIP-AC", ctx);
  return ClipAc.create(ctx.backbone, geometry(ctx));
}

/** A trained head runs on the grid and layers it was trained for (as SimCLIP's factory insists). */
function checkGeometry(m: AnomalyMethod, ctx: MethodContext): AnomalyMethod {
  if (ctx.size !== undefined && ctx.size !== m.size) {
    m.dispose?.();
    throw new CheckpointMismatchError(ctx.checkpoint!.dir, `it was trained at size ${m.size}, not ${ctx.size}: omit --size or retrain at ${ctx.size}`);
  }
  if (ctx.layers !== undefined && ctx.layers.join(",") !== m.layers.join(",")) {
    m.dispose?.();
    throw new CheckpointMismatchError(ctx.checkpoint!.dir, `it was trained on layers ${m.layers.join(",")}, not ${ctx.layers.join(",")}`);
  }
  return m;
}

export async function createAprilGanMethod(ctx: MethodContext): Promise<AnomalyMethod> {
  if (!ctx.checkpoint) return AprilGan.create(ctx.backbone, geometry(ctx));
  return checkGeometry(await AprilGan.fromState(ctx.backbone, ctx.checkpoint.state, ctx.checkpoint.dir), ctx);
}

export async function createPatchCoreMethod(ctx: MethodContext): Promise<AnomalyMethod> {
  noCheckpoint("PatchCore", ctx);
  // backbone=clip: PatchCore on the CLIP features; default: anomalib's, on its own WideResNet-50-2.
  if (ctx.options?.backbone === "clip") {
    const ratio = ctx.options.coresetRatio;
    return new PatchCore(ctx.backbone, { ...geometry(ctx), ...(typeof ratio === "number" ? { coresetRatio: ratio } : {}) });
  }
  return (await import("./patchcore/wide-resnet-method.js")).createPatchCoreWideResNet(ctx);
}

/** CoOp, CoCoOp (in the SimCLIP framework) and AnomalyCLIP: trained prompts from a checkpoint, or untrained. */
export function createPromptLearnerMethod(variant: PromptLearnerVariant): (ctx: MethodContext) => Promise<AnomalyMethod> {
  return async (ctx) => {
    if (!ctx.checkpoint) return PromptLearnerClip.create(ctx.backbone, variant, geometry(ctx));
    if (ctx.checkpoint.state.method !== variant) {
      throw new InvalidArgumentError(`${ctx.checkpoint.dir} holds a "${ctx.checkpoint.state.method}" checkpoint, not a ${variant} one: pass --method ${ctx.checkpoint.state.method}`);
    }
    return checkGeometry(await PromptLearnerClip.fromState(ctx.backbone, ctx.checkpoint.state, ctx.checkpoint.dir), ctx);
  };
}

export interface RunRegisteredMethodOptions {
  /** The frozen backbone (ClipModel.load). */
  model: ClipModel;
  /** Test data: a spec ("mvtec:ROOT" | "visa:ROOT" | "custom:ROOT") or a loaded dataset; omitted: train only. */
  dataset?: string | Dataset;
  /** A trained checkpoint directory (simclip train / train-baseline --out). */
  checkpoint?: string;
  /**
   * Train first on the test split of this auxiliary dataset (the zero-shot protocol: train on MVTec,
   * test on VisA and back), with these options (their `checkpointDir` saves the result).
   */
  train?: { dataset: string | Dataset; options?: TrainOptions };
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
  const features = await openMethodFeatures(o.model, method, o.cacheDir);
  let history: TrainHistory | undefined;
  if (o.train) {
    if (!method.fit) throw new InvalidArgumentError(`method "${name}" has nothing to train; drop the \`train\` option`);
    const aux = await asDataset(o.train.dataset);
    const source = await samplesTrainSource(aux.samples.filter((s) => s.split === "test"), { features, loadMask, size: method.size });
    history = await method.fit(source, o.train.options ?? {});
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

export * from "./clip-ac/index.js";
export * from "./april-gan/index.js";
export * from "./patchcore/index.js";
export * from "./coop/index.js";
export * from "./cocoop/index.js";
export * from "./anomalyclip/index.js";
export * from "./complexity.js";
