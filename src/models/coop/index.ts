export { PromptLearnerClip, isPromptLearnerBackbone, type PromptLearnerBackbone } from "./model.js";
export { promptLearnerPreset, resolvePromptLearnerConfig, type PromptLearnerConfig, type PromptLearnerVariant } from "./config.js";
export { LearnableContext, templatePair, placeholderPrefix, type PromptTemplatePair, type PromptTokenizer } from "./context.js";
export { promptLearnerTerms, promptLearnerLossAndGradients } from "./objective.js";
