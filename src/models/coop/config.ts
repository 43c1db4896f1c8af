/**
 * Configuration of the prompt learners that optimise prompts at the text tower's INPUT (paper
 * Table 4 and Table 1): CoOp and CoCoOp placed inside the SimCLIP framework in place of IPT (MHVA,
 * trainable projections, SimCLIP's loss and scoring, as the paper's Sec. 4.3 describes), and
 * AnomalyCLIP's object-agnostic prompts on CLIP's own patch projection. One configurable model
 * (`model.ts`) serves all three; the presets name the differences.
 */
import { InvalidArgumentError } from "../../errors.js";
import type { ClipConfig } from "../../clip/config.js";
import { SIMCLIP_DEFAULTS } from "../simclip/config.js";
import { quarterLayers, resolveGeometry } from "../components/geometry.js";
import { checkDeepTextPrompts, dpamBlocksOf } from "../../clip/architecture.js";

export type PromptLearnerVariant = "coop" | "cocoop" | "anomalyclip";

export interface PromptLearnerConfig {
  variant: PromptLearnerVariant;
  size: number;
  layers: number[];
  /** Number of learnable context tokens M (CoOp 16, CoCoOp 4, AnomalyCLIP 12: the papers' defaults). */
  contextLength: number;
  /** One context for both states (CoOp/CoCoOp's unified context) or one per state (AnomalyCLIP). */
  sharedContext: boolean;
  /** CoCoOp's meta-net: context shifted by a token conditioned on the image feature. */
  metaNet: boolean;
  /** AnomalyCLIP: class-agnostic "object" / "damaged object" instead of the class name. */
  objectAgnostic: boolean;
  /**
   * "adapter": SimCLIP's MHVA on raw patch tokens plus trainable visual/text projections (the SimCLIP
   * framework). "clip": CLIP's frozen ln_post + visual.proj on patch tokens, projections frozen (AnomalyCLIP).
   */
  patches: "adapter" | "clip";
  /** Cosine logit scale (SimCLIP 100; AnomalyCLIP divides by 0.07). */
  logitScale: number;
  /** Test-time Gaussian sigma (SimCLIP 7, AnomalyCLIP 4). */
  sigma: number;
  ceWeight: number;
  segWeight: number;
  /** AnomalyCLIP's extra dice on the normal channel against the inverted mask. */
  normalDice: boolean;
  /** Std of the context init (CoOp: N(0, 0.02^2)). */
  contextStd: number;
  /**
   * Words whose token embeddings initialise the context instead of random values (CoCoOp's released
   * configs: "a photo of a", 4 tokens = contextLength). Shared context only.
   */
  contextInit?: string;
  /**
   * Learnable tokens inside the text tower as well (AnomalyCLIP's released model: `depth` 8 blocks
   * after the first, i.e. its "depth 9" counting the input, `length` 4): positions 1..length are
   * replaced before each of blocks 2..depth + 1 (`DeepTextPrompts` in clip/architecture.ts). Absent:
   * only the input-level context is learned (every preset).
   */
  deepTextPrompts?: { depth: number; length: number };
  /**
   * The deep text prompts enter the text tower rounded to float16 (AnomalyCLIP's released
   * `compound_prompts_text[i].half()`), and their gradients come back rounded the same way.
   */
  deepPromptsHalf: boolean;
  /**
   * AnomalyCLIP's DPAM: the features come from the vision tower with `DAPM_replace(DPAM_layer =
   * dpamLayer)` applied (its last dpamLayer - 1 blocks dual-path, `dpamBlocksOf`). Absent: CLIP's tower.
   */
  dpamLayer?: number;
  /**
   * "logits": the logit difference is upsampled (align_corners true), then the two-way softmax
   * (SimCLIP's maps). "grid-softmax": the softmax on the patch grid, then the probabilities are
   * upsampled with align_corners false (AnomalyCLIP's `get_similarity_map`).
   */
  mapOrder: "logits" | "grid-softmax";
}

function base(config: ClipConfig): Omit<PromptLearnerConfig, "variant" | "contextLength" | "sharedContext" | "metaNet"> {
  return {
    size: SIMCLIP_DEFAULTS.size,
    layers: quarterLayers(config),
    objectAgnostic: false,
    patches: "adapter",
    logitScale: SIMCLIP_DEFAULTS.logitScale,
    sigma: SIMCLIP_DEFAULTS.sigma,
    ceWeight: SIMCLIP_DEFAULTS.ceWeight,
    segWeight: SIMCLIP_DEFAULTS.segWeight,
    normalDice: false,
    contextStd: 0.02,
    deepPromptsHalf: false,
    mapOrder: "logits",
  };
}

export function promptLearnerPreset(variant: PromptLearnerVariant, config: ClipConfig): PromptLearnerConfig {
  switch (variant) {
    case "coop":
      return { ...base(config), variant, contextLength: 16, sharedContext: true, metaNet: false };
    case "cocoop":
      return { ...base(config), variant, contextLength: 4, sharedContext: true, metaNet: true, contextInit: "a photo of a" };
    case "anomalyclip":
      // The released train.sh / test.sh: n_ctx 12, depth 9 (8 deep prompts), t_n_ctx 4, DPAM_layer 20,
      // hooked layer 24 of 24 (the top block; `--layers 6,12,18,24` is the scripts' old default); train.py's loss
      // 4 * sum_l (focal + dice(p1, g) + dice(p0, 1 - g)) + CE(cos / 0.07).
      return {
        ...base(config),
        variant,
        layers: [config.vision.layers],
        contextLength: 12,
        sharedContext: false,
        metaNet: false,
        objectAgnostic: true,
        patches: "clip",
        logitScale: 1 / 0.07,
        sigma: 4,
        ceWeight: 1,
        segWeight: 4,
        normalDice: true,
        deepTextPrompts: { depth: 8, length: 4 },
        deepPromptsHalf: true,
        dpamLayer: 20,
        mapOrder: "grid-softmax",
      };
    default:
      throw new InvalidArgumentError(`unknown prompt learner "${String(variant)}"; expected coop, cocoop or anomalyclip`);
  }
}

export function resolvePromptLearnerConfig(variant: PromptLearnerVariant, partial: Partial<PromptLearnerConfig>, config: ClipConfig): PromptLearnerConfig {
  const preset = promptLearnerPreset(variant, config);
  const c: PromptLearnerConfig = { ...preset, ...partial, variant };
  const g = resolveGeometry(variant, config, c.size, c.layers, preset.layers);
  c.size = g.size;
  c.layers = g.layers;
  if (!(Number.isInteger(c.contextLength) && c.contextLength >= 1 && c.contextLength <= config.text.contextLength - 8)) {
    throw new InvalidArgumentError(
      `${variant}: contextLength ${c.contextLength} must be an integer in 1..${config.text.contextLength - 8} (room for the class words)`,
    );
  }
  if (c.contextInit !== undefined && !c.sharedContext) {
    throw new InvalidArgumentError(`${variant}: contextInit initialises one shared context; this variant learns one context per state`);
  }
  const deep = c.deepTextPrompts;
  if (deep) {
    checkDeepTextPrompts(config, deep.depth, deep.length);
    if (deep.length > c.contextLength) {
      throw new InvalidArgumentError(
        `${variant}: deep text prompts of length ${deep.length} would overwrite class words; at most contextLength = ${c.contextLength}`,
      );
    }
  }
  if (c.dpamLayer !== undefined) dpamBlocksOf(config, c.dpamLayer);
  if (c.deepPromptsHalf && !deep)
    throw new InvalidArgumentError(`${variant}: deepPromptsHalf rounds the deep text prompts, but there are none (deepTextPrompts)`);
  return c;
}
