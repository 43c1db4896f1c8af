export * from "./config.js";
export { SimClipPlus, SIMCLIP_PLUS_METHOD, type ClassMemory } from "./model.js";
export { featureDrivenGrid, featureDrivenMap } from "./feature-map.js";
export { neighbourSimilarity, priorAwareGrid, priorAwareMap, type PriorLayerInput, type PriorWeighting } from "./prior-aware.js";
export { patchAnomalyProbabilities } from "./zero-shot-grid.js";
export { createSimClipPlusMethod } from "./factory.js";
