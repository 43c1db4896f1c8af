export { PatchCore, PATCHCORE_METHOD, type PatchCoreConfig } from "./model.js";
export { locallyAwareFeatures, neighbourhoodAverage } from "./locally-aware.js";
export { greedyCoreset, randomProjection } from "./coreset.js";
export { nearestEuclidean, reweightedImageScore, searchMemory, type SearchMemory, type PatchDistances } from "./scoring.js";
