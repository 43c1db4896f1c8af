/**
 * What a `simclip serve` job computes: `simclip predict` on uploaded images (the same
 * `predictImages`, so the scores shown are predict's), plus each hooked layer's map for display.
 * Methods are built once per (method, layers) and kept, since building one encodes its prompts and
 * loads its checkpoint.
 */
import { existsSync, statSync } from "node:fs";
import type { ClipModel } from "../clip/model.js";
import { isRandomDemoModel } from "../clip/demo-model.js";
import { InvalidArgumentError } from "../errors.js";
import type { LoadedCheckpoint } from "../models/common/checkpoint.js";
import { predictImages, type Prediction } from "../models/common/predict.js";
import { renderPrediction, type RenderedPrediction } from "../viz/prediction.js";
import { createMethod } from "../models/registry.js";
import type { AnomalyMethod } from "../models/common/types.js";
import { setProgressFactory } from "../progress.js";
import type { JobProgress } from "./queue.js";
import type { StoredImage } from "./uploads.js";

/** The methods the page offers: SimCLIP zero-shot and SimCLIP+ few-shot on the same checkpoint. */
export const SERVE_METHODS = ["simclip", "simclip+"] as const;
export type ServeMethod = (typeof SERVE_METHODS)[number];

export interface InspectorOptions {
  model: ClipModel;
  /** The --model argument as given (shown in the equivalent predict command; checked for a random demo backbone). */
  modelArg: string;
  checkpoint?: LoadedCheckpoint;
  /** Without a checkpoint: the untrained SimCLIP's size and layers (predict's --size / --layers). */
  size?: number;
  layers?: number[];
}

export interface InspectRequest {
  method: ServeMethod;
  category: string;
  /** Some or all of the inspector's layers. */
  layers: number[];
  queries: StoredImage[];
  references: StoredImage[];
}

export interface InspectResult {
  request: InspectRequest;
  size: number;
  /** Map value drawn as full scale (predict's default --map-max: the number of hooked layers). */
  mapScale: number;
  predictions: Prediction[];
  /** `simclip predict` with the same inputs (the uploads under their own names). */
  command: string;
}

/** Methods kept built at once (each holds its adapters and prompt features). */
const KEEP_METHODS = 2;

export class Inspector {
  private readonly methods = new Map<string, AnomalyMethod>();

  private constructor(
    private readonly opts: InspectorOptions,
    readonly size: number,
    readonly layers: number[],
    readonly randomBackbone: boolean,
  ) {}

  static async create(opts: InspectorOptions): Promise<Inspector> {
    const kind = opts.checkpoint?.state.method;
    if (kind !== undefined && kind !== "simclip") {
      throw new InvalidArgumentError(
        `${opts.checkpoint!.dir} holds a "${kind}" checkpoint; simclip serve shows SimCLIP and SimCLIP+, which run on a SimCLIP checkpoint (simclip train --out)`,
      );
    }
    const probe = await createMethod("simclip", { backbone: opts.model, checkpoint: opts.checkpoint, size: opts.size, layers: opts.layers });
    const inspector = new Inspector(opts, probe.size, [...probe.layers], await isRandomModelDir(opts.modelArg));
    inspector.keep(methodKey("simclip", probe.layers), probe);
    return inspector;
  }

  /** The model as given on the command line (a directory or a hub id). */
  get modelLabel(): string {
    return this.opts.modelArg;
  }

  get checkpointDir(): string | undefined {
    return this.opts.checkpoint?.dir;
  }

  async run(req: InspectRequest, report: (p: JobProgress) => void): Promise<InspectResult> {
    // Library progress bars (e.g. a large batch through the vision tower) go to the page while this runs.
    const previous = setProgressFactory((label, total) => ({
      update: (done) => report({ stage: label, done, total }),
      stop: () => {},
    }));
    try {
      report({ stage: `building ${req.method} on layers ${req.layers.join(",")}` });
      const method = await this.method(req.method, req.layers);
      const predictions = await predictImages(
        method,
        this.opts.model,
        req.queries.map((q) => q.file),
        req.category,
        {
          references: req.references.map((r) => r.file),
          layerMaps: true,
          onStage: (stage) => report({ stage }),
        },
      );
      return { request: req, size: method.size, mapScale: method.layers.length, predictions, command: this.predictCommand(req) };
    } catch (err) {
      // The page knows the images by their names, not by the server's copies.
      if (err instanceof Error) {
        for (const img of [...req.queries, ...req.references]) err.message = err.message.replaceAll(img.file, `"${img.name}" (upload ${img.id})`);
      }
      throw err;
    } finally {
      setProgressFactory(previous);
    }
  }

  /** predict's `<name>_map.png`, `_map.npy` and `_overlay.png` bytes of one result image. */
  render(result: InspectResult, index: number): Promise<RenderedPrediction> {
    return renderPrediction(result.predictions[index]!, result.mapScale);
  }

  private async method(name: ServeMethod, layers: number[]): Promise<AnomalyMethod> {
    const key = methodKey(name, layers);
    const kept = this.methods.get(key);
    if (kept) {
      // Most recently used last, so the least recently used is the one dropped.
      this.methods.delete(key);
      this.methods.set(key, kept);
      return kept;
    }
    const { model, checkpoint } = this.opts;
    const m = await createMethod(name, { backbone: model, checkpoint, size: this.size, layers });
    this.keep(key, m);
    return m;
  }

  private keep(key: string, m: AnomalyMethod): void {
    this.methods.set(key, m);
    for (const [k, old] of this.methods) {
      if (this.methods.size <= KEEP_METHODS) break;
      this.methods.delete(k);
      old.dispose?.();
    }
  }

  private predictCommand(req: InspectRequest): string {
    const args = ["simclip", "predict", "--method", req.method, "--model", this.opts.modelArg];
    if (this.checkpointDir) args.push("--checkpoint", this.checkpointDir);
    else args.push("--size", String(this.size));
    args.push("--layers", req.layers.join(","), "--category", req.category, "--out", "pred", ...req.queries.map((q) => q.name));
    if (req.references.length > 0) args.push("--references", ...req.references.map((r) => r.name));
    return args.map(shellWord).join(" ");
  }

  dispose(): void {
    for (const m of this.methods.values()) m.dispose?.();
    this.methods.clear();
  }
}

function methodKey(name: string, layers: number[]): string {
  return `${name}|${layers.join(",")}`;
}

/** A hub id (no such directory here) is a published model, never a random demo one. */
async function isRandomModelDir(arg: string): Promise<boolean> {
  return existsSync(arg) && statSync(arg).isDirectory() && (await isRandomDemoModel(arg));
}

function shellWord(w: string): string {
  return /^[\w./:=,+@%-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}
