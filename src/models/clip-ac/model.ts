/**
 * CLIP-AC (paper Table 1, [30]): plain, untrained CLIP with SimCLIP's binary prompts (Eq. 3).
 * Classification: softmax of 100 x cos(image embedding, prompts), anomalous channel. Segmentation:
 * patch tokens through CLIP's own ln_post + visual.proj against the same prompts (the paper expects
 * this to be poor: CLIP never aligned patch tokens with text). Defaults: the last block only, no
 * smoothing (the plain model has no map post-processing of its own).
 */
import { tf, tfReady } from "../../tf.js";
import { simclipPrompts, type PromptSet } from "../common/prompts.js";
import { stackPooled } from "../common/features.js";
import { scoreInChunks } from "../common/chunked-scoring.js";
import type { AnomalyMethod, FeatureBatch, MethodOutput, MethodState } from "../common/types.js";
import type { SimClipBackbone } from "../common/backbone.js";
import { FrozenPromptEmbeddings } from "../components/frozen-prompts.js";
import { ClipPatchProjection } from "../components/clip-projection.js";
import { summedPromptMaps, textAnomalyProbability } from "../components/prompt-maps.js";
import { resolveGeometry } from "../components/geometry.js";

export const CLIP_AC_METHOD = "clip-ac";

export interface ClipAcConfig {
  size: number;
  layers: number[];
  /** Logit scale of the cosines (the peers' fixed 100, which is also OpenAI CLIP's exp(logit_scale)). */
  logitScale: number;
  /** Gaussian sigma of the summed map; 0 = none. */
  sigma: number;
}

export class ClipAc implements AnomalyMethod {
  readonly name = CLIP_AC_METHOD;
  readonly config: ClipAcConfig;
  readonly grid: number;
  private readonly prompts: FrozenPromptEmbeddings;
  private readonly projection: ClipPatchProjection;

  private constructor(readonly backbone: SimClipBackbone, config: Partial<ClipAcConfig>, prompts: (c: string) => PromptSet) {
    const c = backbone.config;
    const g = resolveGeometry("CLIP-AC", c, config.size, config.layers, [c.vision.layers]);
    this.config = { size: g.size, layers: g.layers, logitScale: config.logitScale ?? 100, sigma: config.sigma ?? 0 };
    this.grid = g.grid;
    this.prompts = new FrozenPromptEmbeddings(backbone, prompts, c.embedDim);
    this.projection = new ClipPatchProjection(backbone.weights, c.vision.width, c.embedDim);
  }

  static async create(backbone: SimClipBackbone, config: Partial<ClipAcConfig> = {}, prompts: (c: string) => PromptSet = simclipPrompts): Promise<ClipAc> {
    await tfReady();
    return new ClipAc(backbone, config, prompts);
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
