/** Wiring shared by the CLI and notebooks: a method's frozen features from a ClipModel through the cache. */
import path from "node:path";
import type { ClipModel } from "../../clip/model.js";
import { FeatureCache, cacheRoot, clipFeatureSource } from "../../cache/index.js";
import type { AnomalyMethod } from "./types.js";

/** Feature cache root: $SIMCLIP_CACHE_DIR/features, else ~/.cache/simclip/features (src/cache/location.ts). */
export function defaultFeatureCacheDir(): string {
  return path.join(cacheRoot("user"), "features");
}

/** The cache of exactly the features `method` reads (its size and layers, or its own backbone's source), for `model`. */
export function openMethodFeatures(
  model: ClipModel,
  method: Pick<AnomalyMethod, "size" | "layers" | "featureSource">,
  cacheDir = defaultFeatureCacheDir(),
): Promise<FeatureCache> {
  return FeatureCache.open(cacheDir, method.featureSource?.() ?? clipFeatureSource(model, { size: method.size, layers: method.layers }));
}
