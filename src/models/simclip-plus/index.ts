export * from "./config.js";
export { SimClipPlus, SIMCLIP_PLUS_METHOD, type ClassMemory } from "./model.js";
export { MemoryGallery } from "./memory-gallery.js";
export { nearestNeighbours, normalizeRowsArray, type NeighbourResult } from "./nearest-neighbour.js";
export { featureDrivenGrid, featureDrivenMap } from "./feature-map.js";
export { neighbourSimilarity, priorAwareGrid, priorAwareMap, type PriorLayerInput, type PriorWeighting } from "./prior-aware.js";
export { combineImageScores, mapMaximum } from "./image-score.js";
export { patchAnomalyProbabilities } from "./zero-shot-grid.js";
export { createSimClipPlusMethod } from "./factory.js";
