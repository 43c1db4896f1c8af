/**
 * PatchCore (Roth et al. 2022) few-shot, paper Table 1's vision-only baseline, on the cached CLIP
 * vision features (`--option backbone=clip`; the registry's default is anomalib's PatchCore on its own
 * WideResNet-50-2, wide-resnet-method.ts). Here the backbone is whatever produced the cache (any CLIP
 * via --model, or any other `FeatureSource`), and `layers` picks its blocks (default: the middle two
 * quarter-depth blocks, 12 and 18 of ViT-L/14, the mid-level features PatchCore prefers).
 * Memory: the k normal images' locally aware patch features, greedy-coreset subsampled (anomalib's
 * default ratio 0.1). Map: nearest-neighbour distance per patch, bilinear upsampling
 * (align_corners = False, anomalib), Gaussian sigma 4 (anomalib). Image score: Eq. 7.
 */
import { InvalidArgumentError } from "../../errors.js";
import { gaussianFilter } from "../common/gaussian.js";
import { createRng } from "../common/init.js";
import { upsampleBilinearArray } from "../common/upsample.js";
import type { AnomalyMethod, FeatureBatch, ImageFeatures, MethodOutput, MethodState } from "../common/types.js";
import type { SimClipBackbone } from "../common/backbone.js";
import { quarterLayers, resolveGeometry } from "../components/geometry.js";
import { locallyAwareFeatures } from "./locally-aware.js";
import { greedyCoreset, randomProjection } from "./coreset.js";
import { nearestEuclidean, reweightedImageScore, searchMemory, type SearchMemory } from "./scoring.js";

export const PATCHCORE_METHOD = "patchcore";

export interface PatchCoreConfig {
  size: number;
  layers: number[];
  /** Fraction of the memory kept by the greedy coreset (anomalib: 0.1). 1 keeps everything. */
  coresetRatio: number;
  /** Dimension of the random projection the coreset search runs on; 0 = the exact features. */
  projectionDim: number;
  /** b of Eq. 7 (anomalib: 9). */
  neighbours: number;
  sigma: number;
  seed: number;
}

export class PatchCore implements AnomalyMethod {
  readonly name = PATCHCORE_METHOD;
  readonly config: PatchCoreConfig;
  readonly grid: number;
  private readonly memories = new Map<string, SearchMemory>();

  constructor(
    readonly backbone: Pick<SimClipBackbone, "config" | "fingerprint">,
    config: Partial<PatchCoreConfig> = {},
  ) {
    const c = backbone.config;
    const q = quarterLayers(c);
    const g = resolveGeometry("PatchCore", c, config.size, config.layers, q.length >= 3 ? [q[1]!, q[2]!] : q);
    this.config = {
      size: g.size,
      layers: g.layers,
      coresetRatio: config.coresetRatio ?? 0.1,
      projectionDim: config.projectionDim ?? 128,
      neighbours: config.neighbours ?? 9,
      sigma: config.sigma ?? 4,
      seed: config.seed ?? 0,
    };
    if (!(this.config.coresetRatio > 0 && this.config.coresetRatio <= 1)) {
      throw new InvalidArgumentError(`PatchCore: coresetRatio must be in (0, 1], got ${this.config.coresetRatio}`);
    }
    this.grid = g.grid;
  }

  get size(): number {
    return this.config.size;
  }

  get layers(): number[] {
    return this.config.layers;
  }

  async setMemory(category: string, normals: ImageFeatures[]): Promise<void> {
    if (normals.length === 0) throw new InvalidArgumentError(`PatchCore: no normal reference images for "${category}"`);
    const P = this.grid * this.grid;
    const d = this.config.layers.length * normals[0]!.width;
    const all = new Float32Array(normals.length * P * d);
    normals.forEach((f, i) => {
      all.set(locallyAwareFeatures(f, this.config.layers), i * P * d);
    });
    const n = normals.length * P;
    const count = Math.max(1, Math.round(n * this.config.coresetRatio));
    let rows = all;
    if (count < n) {
      const k = this.config.projectionDim;
      const search = k > 0 && k < d ? randomProjection(all, n, d, k, this.config.seed) : all;
      const start = createRng("patchcore-coreset-start", this.config.seed).int(n);
      const idx = greedyCoreset(search, n, k > 0 && k < d ? k : d, count, start);
      rows = new Float32Array(count * d);
      idx.forEach((j, r) => {
        rows.set(all.subarray(j * d, (j + 1) * d), r * d);
      });
    }
    this.memories.set(category, searchMemory(rows, count, d));
  }

  async score(batch: FeatureBatch): Promise<MethodOutput> {
    const S = this.size;
    const P = this.grid * this.grid;
    const maps: Float32Array[] = [];
    const scores = new Float32Array(batch.features.length);
    for (let i = 0; i < batch.features.length; i++) {
      const category = batch.categories[i]!;
      const mem = this.memories.get(category);
      if (!mem) throw new InvalidArgumentError(`PatchCore is few-shot only: no memory for class "${category}"; run it with --shots k (k >= 1)`);
      const patches = locallyAwareFeatures(batch.features[i]!, this.config.layers);
      const nn = await nearestEuclidean(patches, P, mem);
      scores[i] = reweightedImageScore(patches, nn, mem, this.config.neighbours);
      const up = upsampleBilinearArray(nn.distance, this.grid, S, false);
      maps.push(this.config.sigma > 0 ? gaussianFilter(up, S, S, this.config.sigma) : up);
    }
    return { size: S, maps, scores };
  }

  state(): MethodState {
    return { method: PATCHCORE_METHOD, config: { patchcore: this.config, backbone: this.backbone.fingerprint }, tensors: new Map() };
  }
}
