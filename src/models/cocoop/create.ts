/**
 * CoCoOp (conditional context optimisation) in the SimCLIP framework: CoOp's learnable context plus
 * the meta-net's image-conditioned shift, built by the shared input-side prompt learner (`coop/`).
 */
import type { SimClipBackbone } from "../common/backbone.js";
import { PromptLearnerClip } from "../coop/model.js";
import type { PromptLearnerConfig } from "../coop/config.js";

export function createCoCoOp(backbone: SimClipBackbone, config: Partial<PromptLearnerConfig> = {}, seed = 111): Promise<PromptLearnerClip> {
  return PromptLearnerClip.create(backbone, "cocoop", config, seed);
}
