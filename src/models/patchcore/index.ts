export { PatchCore, PATCHCORE_METHOD, type PatchCoreConfig } from "./model.js";
export { locallyAwareFeatures, neighbourhoodAverage } from "./locally-aware.js";
export { greedyCoreset, randomProjection } from "./coreset.js";
export { nearestEuclidean, reweightedImageScore, searchMemory, type SearchMemory, type PatchDistances } from "./scoring.js";
// PatchCore on its own WideResNet-50-2 (anomalib's recipe; registry option backbone=wide_resnet50_2, the default).
export {
  PatchCoreWideResNet,
  PATCHCORE_OPTIONS,
  PATCHCORE_WEIGHTS_ENV,
  ANOMALIB_PATCHCORE_DEFAULTS,
  resolvePatchCoreWeights,
  type PatchCoreWideResNetConfig,
} from "./wide-resnet-method.js";
export { wideResNetFeatureSource, WRN_EMBEDDING_SECTION, type WideResNetWeightsSource, type WideResNetFeatureSource } from "./wide-resnet-source.js";
export { buildResNetGraph, resnetSpec, foldBatchNorm, type ResNetGraph, type ResNetSpec } from "./wide-resnet.js";
export { loadResNetWeights, randomWideResNetWeights, writeRandomWideResNet, WIDE_RESNET50_2 } from "./resnet-weights.js";
export { preprocessImagenet, resizeBilinearAntialias } from "./imagenet-preprocess.js";
export { anomalibAnomalyMap, anomalibCoreset, sparseRandomProjection } from "./anomalib.js";
