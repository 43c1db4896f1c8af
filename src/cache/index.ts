export { FeatureCache } from "./feature-cache.js";
export { featureSourceId, type FeatureSourceInfo, type ImageFeatures } from "./source.js";
export { clipFeatureSource, type ClipFeatureSourceOptions } from "./clip-source.js";
export { CorruptEntryError } from "./entry.js";
export { cacheRoot, projectRoot, type CacheScope, type CacheLocationOptions } from "./location.js";
