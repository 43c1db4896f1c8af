/**
 * CLIP-AC (paper Table 1, [30]): plain, untrained CLIP with the ImageNet prompt-template ensemble
 * (`prompts.ts`; SimCLIP's binary prompts, Eq. 3, as an option).
 * Classification: softmax of 100 x cos(image embedding, prompts), anomalous channel. Segmentation:
 * patch tokens through CLIP's own ln_post + visual.proj against the same prompts (the paper expects
 * this to be poor: CLIP never aligned patch tokens with text). Defaults: the last block only, scored
 * with AnomalyCLIP's test pipeline (`clipAcPipeline`).
 */
import { tf, tfReady } from "../../tf.js";
import { stackPooled } from "../common/features.js";
import { scoreInChunks } from "../common/chunked-scoring.js";
import type { AnomalyMethod, FeatureBatch, MethodOutput, MethodState } from "../common/types.js";
import type { SimClipBackbone } from "../common/backbone.js";
import { FrozenPromptEmbeddings } from "../components/frozen-prompts.js";
import { ClipPatchProjection } from "../components/clip-projection.js";
import { summedPromptMaps, textAnomalyProbability } from "../components/prompt-maps.js";
import { resolveGeometry } from "../components/geometry.js";
import { clipAcPrompts, type ClipAcPrompts } from "./prompts.js";

export const CLIP_AC_METHOD = "clip-ac";

export interface ClipAcConfig {
  size: number;
  layers: number[];
  /** Logit scale of the cosines (the peers' fixed 100, which is also OpenAI CLIP's exp(logit_scale)). */
  logitScale: number;
  /** Gaussian sigma of the summed map; 0 = none. */
  sigma: number;
  /** "logits": upsample the logits (align_corners true), then softmax; "grid-softmax": softmax on the grid, then upsample (align_corners false). */
  mapOrder: "logits" | "grid-softmax";
  /** The ImageNet template ensemble (AnomalyCLIP's description of the baseline) or SimCLIP's two sentences. */
  prompts: ClipAcPrompts;
}

/**
 * The two readings of how the baseline was scored (docs/baselines-provenance.md): "anomalyclip", the
 * test pipeline of the repository whose table SimCLIP quotes (cos / 0.07, softmax on the grid,
 * bilinear with align_corners false, Gaussian sigma 4); "april-gan", the training-free peers' (100 x
 * cos, logits upsampled with align_corners true, no smoothing).
 */
export type ClipAcPipeline = "anomalyclip" | "april-gan";

export function clipAcPipeline(p: ClipAcPipeline): Pick<ClipAcConfig, "logitScale" | "sigma" | "mapOrder"> {
  return p === "anomalyclip" ? { logitScale: 1 / 0.07, sigma: 4, mapOrder: "grid-softmax" } : { logitScale: 100, sigma: 0, mapOrder: "logits" };
}

export class ClipAc implements AnomalyMethod {
  readonly name = CLIP_AC_METHOD;
  readonly config: ClipAcConfig;
  readonly grid: number;
  private readonly prompts: FrozenPromptEmbeddings;
  private readonly projection: ClipPatchProjection;

  private constructor(
    readonly backbone: SimClipBackbone,
    config: Partial<ClipAcConfig>,
  ) {
    const c = backbone.config;
    const g = resolveGeometry("CLIP-AC", c, config.size, config.layers, [c.vision.layers]);
    this.config = { ...clipAcPipeline("anomalyclip"), prompts: "imagenet", ...config, size: g.size, layers: g.layers };
    this.grid = g.grid;
    const kind = this.config.prompts;
    this.prompts = new FrozenPromptEmbeddings(backbone, (category) => clipAcPrompts(kind, category), c.embedDim);
    this.projection = new ClipPatchProjection(backbone.weights, c.vision.width, c.embedDim);
  }

  static async create(backbone: SimClipBackbone, config: Partial<ClipAcConfig> = {}): Promise<ClipAc> {
    await tfReady();
    return new ClipAc(backbone, config);
  }

  get size(): number {
    return this.config.size;
  }

  get layers(): number[] {
    return this.config.layers;
  }

  async prepare(categories: string[]): Promise<void> {
    await this.prompts.ensure(categories);
  }

  async score(batch: FeatureBatch): Promise<MethodOutput> {
    await this.prepare(batch.categories);
    const E = this.backbone.config.embedDim;
    return scoreInChunks(batch, this.size, this.config.sigma, async (features, categories) => {
      const n = features.length;
      const { diff, pairs } = this.prompts.perImage(categories);
      const diffT = tf.tensor2d(diff, [n, E]);
      try {
        const probT = tf.tidy(() =>
          textAnomalyProbability(this.projection.imageEmbeds(stackPooled(features)), tf.tensor3d(pairs, [n, 2, E]), this.config.logitScale),
        );
        const prob = (await probT.data()) as Float32Array;
        probT.dispose();
        const sum = await summedPromptMaps(features, diffT, { ...this.config, grid: this.grid }, async (_l, x, rows, w) =>
          tf.tidy(() => this.projection.apply(tf.tensor2d(x, [rows, w]))),
        );
        return { sum, prob };
      } finally {
        diffT.dispose();
      }
    });
  }

  /** Nothing is learned; the state records the configuration only. */
  state(): MethodState {
    return { method: CLIP_AC_METHOD, config: { clipAc: this.config, backbone: this.backbone.fingerprint }, tensors: new Map() };
  }

  dispose(): void {
    this.projection.dispose();
  }
}
