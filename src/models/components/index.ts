/** Parts several methods share (as anomalib's `models/components/`): CLIP's patch projection, prompt maps, geometry, adapters, losses, the memory gallery, CoCoOp's meta-net. */
export * from "./losses.js";
export { FrozenPromptEmbeddings, ensembleEmbedding } from "./frozen-prompts.js";
export * from "./mhva.js";
export * from "./maps.js";
export { ClipPatchProjection } from "./clip-projection.js";
export { summedPromptMaps, textAnomalyProbability, type PromptMapGeometry, type PatchProjector } from "./prompt-maps.js";
export { resolveGeometry, quarterLayers, type BaselineGeometry } from "./geometry.js";
export { MemoryGallery } from "./memory-gallery.js";
export { nearestNeighbours, normalizeRowsArray, type NeighbourResult } from "./nearest-neighbour.js";
export { combineImageScores, mapMaximum } from "./image-score.js";
export { frozenAdapterGradients } from "./frozen-adapter.js";
export { CoCoOpMetaNet } from "./meta-net.js";
