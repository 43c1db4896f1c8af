export { ClipAc, CLIP_AC_METHOD, type ClipAcConfig } from "./model.js";
export { FrozenPromptEmbeddings, ensembleEmbedding } from "./frozen-prompts.js";
