/**
 * AnomalyCLIP (Zhou et al. 2024) as its authors released it (zqhang/AnomalyCLIP): object-agnostic
 * learnable prompts "[X]x12 object." / "[X]x12 damaged object." with 8 deep text prompts of 4
 * tokens through the differentiable text tower, patch features from the DPAM variant of the vision
 * tower (`VisionTowerOptions.dpam`) through CLIP's own ln_post + visual.proj, the image feature
 * without ln_post, maps softmaxed on the grid at logit scale 1 / 0.07, Gaussian sigma 4, loss
 * CE + 4 * sum over layers (focal + dice + dice of the normal channel). Built by the shared
 * input-side prompt learner (`coop/model.ts`) with its "anomalyclip" preset (`coop/config.ts`).
 */
import type { SimClipBackbone } from "../common/backbone.js";
import { PromptLearnerClip } from "../coop/model.js";
import type { PromptLearnerConfig } from "../coop/config.js";

export function createAnomalyClip(backbone: SimClipBackbone, config: Partial<PromptLearnerConfig> = {}, seed = 111): Promise<PromptLearnerClip> {
  return PromptLearnerClip.create(backbone, "anomalyclip", config, seed);
}
