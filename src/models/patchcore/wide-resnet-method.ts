/**
 * PatchCore (Roth et al. 2022) on its own backbone, as anomalib runs it (`Patchcore()` defaults):
 * WideResNet-50-2 layers 2 + 3, 256 px input (anomalib's default pre-processor: Resize((256, 256)),
 * no centre crop), patch embedding of the pooled and resized layers (wide-resnet.ts), coreset ratio
 * 0.1 by k-center greedy on a sparse random projection (anomalib.ts), nearest-neighbour patch scores,
 * the re-weighted image score with num_neighbors 9 (scoring.ts, Eq. 7), and the map resized nearest
 * to the image size and blurred with sigma 4 (anomalib.ts). `--option backbone=clip` keeps the
 * CLIP-feature PatchCore of model.ts.
 *
 * Weights: torchvision's ImageNet `wide_resnet50_2` state dict (or timm's, same names), found at
 * $SIMCLIP_PATCHCORE_WEIGHTS (a .pth, a .safetensors, a directory with model.safetensors, or
 * "random"), else in torch's hub cache ($TORCH_HOME/hub/checkpoints/wide_resnet50_2-95faca4d.pth or
 * -9ba9bcbe.pth, where `torchvision.models.wide_resnet50_2(weights=...)` downloads them). None of these
 * ship with simclip. Without them, PatchCore runs on RANDOM weights of the real shape only next to a
 * random demo CLIP (the out-of-the-box setup, whose numbers are flagged as meaningless anyway); next
 * to a real CLIP it is an error saying where to put the file. Random weights are reported as such
 * (`random` in the feature source and in the method's state, eval's results file, eval's and predict's notes).
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { isRandomDemoModel } from "../../clip/demo-model.js";
import { InvalidArgumentError } from "../../errors.js";
import type { FeatureSourceInfo } from "../../cache/source.js";
import type { ExecutionProviderName } from "../../clip/ort-executor.js";
import type { AnomalyMethod, FeatureBatch, ImageFeatures, MethodOutput, MethodState } from "../common/types.js";
import type { MethodOptionSchema } from "../common/method-options.js";
import type { MethodContext } from "../common/method.js";
import { PATCHCORE_METHOD } from "./model.js";
import { anomalibAnomalyMap, anomalibCoreset } from "./anomalib.js";
import { nearestEuclidean, reweightedImageScore, searchMemory, type SearchMemory } from "./scoring.js";
import { describeResNetWeights, WIDE_RESNET50_2 } from "./resnet-weights.js";
import {
  describeWeights,
  weightsAreRandom,
  wideResNetFeatureSource,
  WRN_EMBEDDING_SECTION,
  type WideResNetFeatureSource,
  type WideResNetWeightsSource,
} from "./wide-resnet-source.js";

export const PATCHCORE_BACKBONES = [WIDE_RESNET50_2.name, "clip"] as const;

/** The registry's options of method "patchcore". */
export const PATCHCORE_OPTIONS: MethodOptionSchema = {
  backbone: {
    type: "enum",
    values: PATCHCORE_BACKBONES,
    default: WIDE_RESNET50_2.name,
    description:
      "wide_resnet50_2: anomalib's PatchCore on its own ImageNet WideResNet-50-2 (layers 2+3, 256 px; weights from $SIMCLIP_PATCHCORE_WEIGHTS or torch's hub cache); " +
      "clip: PatchCore on the CLIP backbone's cached patch tokens (--model, --layers)",
  },
  coresetRatio: {
    type: "number",
    default: 0.1,
    min: 1e-6,
    max: 1,
    description: "fraction of the normal patch features kept in the memory by the greedy coreset (anomalib's coreset_sampling_ratio; 1 keeps all)",
  },
};

export const PATCHCORE_WEIGHTS_ENV = "SIMCLIP_PATCHCORE_WEIGHTS";

/** anomalib's defaults (lightning_model.py `Patchcore.__init__` and `configure_pre_processor`). */
export const ANOMALIB_PATCHCORE_DEFAULTS = { size: 256, layers: [2, 3], coresetRatio: 0.1, neighbours: 9, sigma: 4 } as const;

export interface PatchCoreWideResNetConfig {
  backbone: typeof WIDE_RESNET50_2.name;
  /** Input and map size (anomalib: 256). */
  size: number;
  /** ResNet stages (anomalib: layer2, layer3). */
  layers: number[];
  coresetRatio: number;
  /** num_neighbors of the image score's re-weighting (anomalib: 9). */
  neighbours: number;
  /** Gaussian blur of the map (anomalib: 4; 0: none). */
  sigma: number;
  /** Seed of the coreset's projection and start point. */
  seed: number;
}

export class PatchCoreWideResNet implements AnomalyMethod {
  readonly name = PATCHCORE_METHOD;
  readonly config: PatchCoreWideResNetConfig;
  readonly source: WideResNetFeatureSource;
  private readonly memories = new Map<string, SearchMemory>();

  constructor(
    readonly weights: WideResNetWeightsSource,
    config: Partial<Omit<PatchCoreWideResNetConfig, "backbone">> = {},
    ort: { threads?: number; executionProvider?: ExecutionProviderName } = {},
  ) {
    const d = ANOMALIB_PATCHCORE_DEFAULTS;
    this.config = {
      backbone: WIDE_RESNET50_2.name,
      size: config.size ?? d.size,
      layers: [...new Set(config.layers ?? d.layers)].sort((a, b) => a - b),
      coresetRatio: config.coresetRatio ?? d.coresetRatio,
      neighbours: config.neighbours ?? d.neighbours,
      sigma: config.sigma ?? d.sigma,
      seed: config.seed ?? 0,
    };
    const c = this.config;
    if (c.layers.length === 0 || c.layers.some((l) => !Number.isInteger(l) || l < 1 || l > 4)) {
      throw new InvalidArgumentError(
        `PatchCore on ${WIDE_RESNET50_2.name}: layers are ResNet stages among 1..4 (anomalib's default 2,3); got ${c.layers.join(",")}. ` +
          "For CLIP blocks use --option backbone=clip",
      );
    }
    if (!(Number.isInteger(c.size) && c.size >= 32))
      throw new InvalidArgumentError(`PatchCore on ${WIDE_RESNET50_2.name}: size must be an integer >= 32, got ${c.size}`);
    if (!(c.coresetRatio > 0 && c.coresetRatio <= 1)) throw new InvalidArgumentError(`PatchCore: coresetRatio must be in (0, 1], got ${c.coresetRatio}`);
    if (!(Number.isInteger(c.neighbours) && c.neighbours >= 1))
      throw new InvalidArgumentError(`PatchCore: neighbours must be a positive integer, got ${c.neighbours}`);
    this.source = wideResNetFeatureSource({ weights, size: c.size, layers: c.layers, ...ort });
  }

  get size(): number {
    return this.config.size;
  }

  /** ResNet stages (not CLIP blocks): the features come from `featureSource()`. */
  get layers(): number[] {
    return this.config.layers;
  }

  get random(): boolean {
    return weightsAreRandom(this.weights);
  }

  featureSource(): FeatureSourceInfo {
    return this.source;
  }

  private embedding(f: ImageFeatures): Float32Array {
    const rows = f.patchTokens.get(WRN_EMBEDDING_SECTION);
    if (!rows || f.grid !== this.source.grid || f.width !== this.source.width) {
      throw new InvalidArgumentError(
        `PatchCore on ${WIDE_RESNET50_2.name} reads its own features (featureSource(): ${this.source.grid}x${this.source.grid} patches of ${this.source.width}); ` +
          `got features of grid ${f.grid}, width ${f.width}: open the cache with the method's featureSource()`,
      );
    }
    return rows;
  }

  async setMemory(category: string, normals: ImageFeatures[]): Promise<void> {
    if (normals.length === 0) throw new InvalidArgumentError(`PatchCore: no normal reference images for "${category}"`);
    const P = this.source.grid ** 2;
    const d = this.source.width;
    const all = new Float32Array(normals.length * P * d);
    normals.forEach((f, i) => {
      all.set(this.embedding(f), i * P * d);
    });
    const n = normals.length * P;
    const idx = anomalibCoreset(all, n, d, this.config.coresetRatio, this.config.seed);
    const rows = idx.length === n ? all : new Float32Array(idx.length * d);
    if (rows !== all)
      idx.forEach((j, r) => {
        rows.set(all.subarray(j * d, (j + 1) * d), r * d);
      });
    this.memories.set(category, searchMemory(rows, idx.length, d));
  }

  async score(batch: FeatureBatch): Promise<MethodOutput> {
    const S = this.size;
    const g = this.source.grid;
    const maps: Float32Array[] = [];
    const scores = new Float32Array(batch.features.length);
    for (let i = 0; i < batch.features.length; i++) {
      const category = batch.categories[i]!;
      const mem = this.memories.get(category);
      if (!mem) throw new InvalidArgumentError(`PatchCore is few-shot only: no memory for class "${category}"; run it with --shots k (k >= 1)`);
      const patches = this.embedding(batch.features[i]!);
      const nn = await nearestEuclidean(patches, g * g, mem);
      scores[i] = reweightedImageScore(patches, nn, mem, this.config.neighbours);
      maps.push(anomalibAnomalyMap(nn.distance, g, S, this.config.sigma));
    }
    return { size: S, maps, scores };
  }

  state(): MethodState {
    const w = this.weights;
    const weights = w.kind === "random" ? { random: true, seed: w.seed } : { file: w.path, sha256: w.sha256, random: w.random };
    return { method: PATCHCORE_METHOD, config: { patchcore: this.config, weights, features: this.source.id }, tensors: new Map() };
  }

  dispose(): void {
    void this.source.release();
  }
}

/** torch's hub checkpoint folder ($TORCH_HOME/hub/checkpoints, default ~/.cache/torch/hub/checkpoints). */
export function torchHubCheckpointDir(env: NodeJS.ProcessEnv = process.env): string {
  const torchHome = env.TORCH_HOME || path.join(env.XDG_CACHE_HOME || path.join(homedir(), ".cache"), "torch");
  return path.join(torchHome, "hub", "checkpoints");
}

/** torchvision's file names of the ImageNet wide_resnet50_2 weights (IMAGENET1K_V1, the PatchCore paper's; then V2). */
export const TORCHVISION_WRN_FILES = ["wide_resnet50_2-95faca4d.pth", "wide_resnet50_2-9ba9bcbe.pth"] as const;

/**
 * Where PatchCore's WideResNet weights come from (see the header): `$SIMCLIP_PATCHCORE_WEIGHTS`, torch's
 * hub cache, else random weights when `randomAllowed` (a random demo CLIP), else an error.
 */
export async function resolvePatchCoreWeights(opts: { randomAllowed: boolean; env?: NodeJS.ProcessEnv }): Promise<WideResNetWeightsSource> {
  const env = opts.env ?? process.env;
  const given = env[PATCHCORE_WEIGHTS_ENV];
  let file: string | undefined;
  if (given === "random") return { kind: "random", seed: 0 };
  if (given) file = given;
  else file = TORCHVISION_WRN_FILES.map((f) => path.join(torchHubCheckpointDir(env), f)).find((f) => existsSync(f));
  if (file) {
    const d = await describeResNetWeights(file);
    return { kind: "file", path: d.file, sha256: d.sha256, random: d.random };
  }
  if (!opts.randomAllowed) {
    throw new InvalidArgumentError(
      `PatchCore runs on ImageNet ${WIDE_RESNET50_2.name} weights, which simclip cannot ship: set ${PATCHCORE_WEIGHTS_ENV} to torchvision's ` +
        `${TORCHVISION_WRN_FILES[0]} (https://download.pytorch.org/models/${TORCHVISION_WRN_FILES[0]}) or place it in ${torchHubCheckpointDir(env)}; ` +
        `or run PatchCore on the CLIP features with --option backbone=clip; or set ${PATCHCORE_WEIGHTS_ENV}=random for random weights (numbers then mean nothing)`,
    );
  }
  // No process warning: beside the random demo CLIP every number is already flagged (setup labels, the CLI's
  // notes), and notebooks treat stderr as failure. The flag travels with the source, the state and eval's results.
  return { kind: "random", seed: 0 };
}

/** True when the CLIP backbone given to the registry is a random demo model (its directory says so). */
export async function backboneIsRandomDemo(backbone: unknown): Promise<boolean> {
  const dir = (backbone as { dir?: unknown } | null)?.dir;
  if (typeof dir !== "string") return false;
  try {
    return await isRandomDemoModel(dir);
  } catch {
    return false;
  }
}

export { describeWeights };

/** The registry's factory for `backbone=wide_resnet50_2` (`ctx.size` / `ctx.layers`: input size and ResNet stages). */
export async function createPatchCoreWideResNet(ctx: Pick<MethodContext, "backbone" | "size" | "layers" | "options">): Promise<PatchCoreWideResNet> {
  const weights = await resolvePatchCoreWeights({ randomAllowed: await backboneIsRandomDemo(ctx.backbone) });
  const config: Partial<PatchCoreWideResNetConfig> = {};
  if (typeof ctx.options?.coresetRatio === "number") config.coresetRatio = ctx.options.coresetRatio;
  if (ctx.size !== undefined) config.size = ctx.size;
  if (ctx.layers !== undefined) config.layers = ctx.layers;
  const executionProvider = process.env.SIMCLIP_EXECUTION_PROVIDER as ExecutionProviderName | undefined;
  return new PatchCoreWideResNet(weights, config, executionProvider ? { executionProvider } : {});
}
