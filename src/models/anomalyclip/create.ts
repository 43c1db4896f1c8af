/**
 * AnomalyCLIP (Zhou et al. 2024), paper Table 1: object-agnostic learnable prompts
 * "[X]x12 object." / "[X]x12 damaged object." (one context per state) through the differentiable text
 * tower, patch tokens through CLIP's own ln_post + visual.proj, maps at logit scale 1 / 0.07,
 * Gaussian sigma 4, loss CE + 4 * sum over layers (focal + dice + dice of the normal channel).
 * Built by the shared input-side prompt learner (`coop/model.ts`), which documents the
 * simplifications: no DPAM, and the deep text-layer tokens only on request (`deepTextPrompts`).
 */
import type { SimClipBackbone } from "../common/backbone.js";
import { PromptLearnerClip } from "../coop/model.js";
import type { PromptLearnerConfig } from "../coop/config.js";

export function createAnomalyClip(backbone: SimClipBackbone, config: Partial<PromptLearnerConfig> = {}, seed = 111): Promise<PromptLearnerClip> {
  return PromptLearnerClip.create(backbone, "anomalyclip", config, seed);
}
