/**
 * SimCLIP+ (paper Sec. 3.3): few-shot anomaly detection on top of a trained SimCLIP. It adds no
 * trained parameters: per class, a memory gallery of k normal images (Eq. 7) and, for Algorithm 1,
 * the zero-shot map of every memory feature (through the trained adapters and refined prompts).
 * That "normal prior" depends only on the memory feature, so it is computed once per gallery and
 * looked up by each query patch's nearest-neighbour index: the same numbers as the authors' code,
 * which re-runs the adapters on the gathered neighbours of every test image.
 */
import { InvalidArgumentError, ShapeError } from "../../errors.js";
import type { AnomalyMethod, FeatureBatch, ImageFeatures, MethodOutput } from "../common/types.js";
import type { SimClip } from "../simclip/model.js";
import { resolveSimClipPlusConfig, type SimClipPlusConfig } from "./config.js";
import { combineImageScores } from "../components/image-score.js";
import { MemoryGallery } from "../components/memory-gallery.js";
import { scoreSimClipPlus } from "./scoring.js";
import { adaptPatches, patchAnomalyProbabilities, refinedPromptDifference } from "./zero-shot-grid.js";

export const SIMCLIP_PLUS_METHOD = "simclip+";

/** Everything SimCLIP+ keeps per class between `setMemory` and `finalizeCategory`. */
export interface ClassMemory {
  gallery: MemoryGallery;
  /** Layer -> [k * P] M_l,zero of each memory feature. */
  memoryProb: Map<number, Float32Array>;
  /** t1 - t0 of the class's normalised refined prompts. */
  promptDiff: Float32Array;
  /** Map maxima of the images scored since `setMemory`, in scoring order (for the per-class min-max). */
  readonly scoreMapMax: number[];
}

export class SimClipPlus implements AnomalyMethod {
  readonly name = SIMCLIP_PLUS_METHOD;
  readonly config: SimClipPlusConfig;
  private readonly memories = new Map<string, ClassMemory>();

  constructor(
    readonly simclip: SimClip,
    config: Partial<SimClipPlusConfig> = {},
  ) {
    this.config = resolveSimClipPlusConfig(config);
  }

  get size(): number {
    return this.simclip.size;
  }

  /** The hooked layers: SimCLIP's, also used for the memory (authors: few_shot_features = features_list = 6, 12, 18, 24). */
  get layers(): number[] {
    return this.simclip.layers;
  }

  async prepare(categories: string[]): Promise<void> {
    await this.simclip.prepare(categories);
  }

  /** Build the class's memory gallery from k normal images (replaces an earlier one of the class). */
  async setMemory(category: string, normals: ImageFeatures[]): Promise<void> {
    await this.simclip.prepare([category]);
    const gallery = MemoryGallery.build(normals, this.layers);
    if (gallery.grid !== this.simclip.grid) {
      throw new ShapeError(
        `reference images of "${category}" have a ${gallery.grid}x${gallery.grid} patch grid, SimCLIP+ runs at ${this.simclip.grid}x${this.simclip.grid} (size ${this.size}): cache them at that size`,
      );
    }
    const promptDiff = refinedPromptDifference(this.simclip, category);
    const memoryProb = new Map<number, Float32Array>();
    if (this.config.pao) {
      for (const layer of this.layers) {
        const adapted = await adaptPatches(this.simclip, layer, gallery.tokens(layer), gallery.size);
        memoryProb.set(layer, patchAnomalyProbabilities(adapted, gallery.size, this.simclip.dims.embedDim, promptDiff, this.simclip.config.logitScale));
      }
    }
    this.memories.set(category, { gallery, memoryProb, promptDiff, scoreMapMax: [] });
  }

  memoryOf(category: string): ClassMemory {
    const m = this.memories.get(category);
    if (!m)
      throw new InvalidArgumentError(`SimCLIP+: no memory for class "${category}": call setMemory("${category}", k normal images' features) before scoring it`);
    return m;
  }

  /**
   * Maps are final; scores are the text probabilities until `finalizeCategory` turns them into the
   * few-shot image score (it needs every test image of the class).
   */
  async score(batch: FeatureBatch): Promise<MethodOutput> {
    await this.simclip.prepare(batch.categories);
    const scored = await scoreSimClipPlus(this, batch);
    scored.forEach((s, i) => {
      this.memoryOf(batch.categories[i]!).scoreMapMax.push(s.scoreMapMax);
    });
    const layerMaps = batch.layerMaps ? { layerMaps: scored.map((s) => s.layerMaps!) } : {};
    return { size: this.size, maps: scored.map((s) => s.map), scores: Float32Array.from(scored, (s) => s.textProb), ...layerMaps };
  }

  /**
   * Image score = 0.5 * (text probability + min-max normalised map maximum over the class's images).
   * Ends the class: its memory is dropped, so scoring it again needs a new `setMemory`.
   */
  finalizeCategory(category: string, outputs: MethodOutput): MethodOutput {
    const mem = this.memoryOf(category);
    if (mem.scoreMapMax.length !== outputs.scores.length) {
      throw new ShapeError(
        `SimCLIP+: ${outputs.scores.length} outputs to finalise for "${category}" but ${mem.scoreMapMax.length} images were scored since its setMemory: finalise exactly the outputs of all score calls of the class`,
      );
    }
    const scores = combineImageScores(outputs.scores, Float32Array.from(mem.scoreMapMax));
    // The class is done: its gallery (176 MB at ViT-L/14 4-shot) is released before the next class's.
    this.memories.delete(category);
    return { ...outputs, scores };
  }

  /** Also disposes the wrapped SimCLIP (share one SimCLIP between several SimClipPlus only if none of them is disposed). */
  dispose(): void {
    this.memories.clear();
    this.simclip.dispose();
  }
}
