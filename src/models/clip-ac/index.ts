export { ClipAc, CLIP_AC_METHOD, type ClipAcConfig } from "./model.js";
export { FrozenPromptEmbeddings, ensembleEmbedding } from "./frozen-prompts.js";
export { ClipPatchProjection } from "./clip-projection.js";
export { summedPromptMaps, textAnomalyProbability, type PromptMapGeometry, type PatchProjector } from "./prompt-maps.js";
export { resolveGeometry, quarterLayers, type BaselineGeometry } from "./geometry.js";
