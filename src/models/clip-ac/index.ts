export { ClipAc, CLIP_AC_METHOD, clipAcPipeline, type ClipAcConfig, type ClipAcPipeline } from "./model.js";
export { IMAGENET_TEMPLATES, clipAcPrompts, type ClipAcPrompts } from "./prompts.js";
