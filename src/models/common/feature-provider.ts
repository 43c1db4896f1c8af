/** What methods read cached features through: the FeatureCache (src/cache) or anything shaped like it. */
import type { ImageFeatures } from "./types.js";

export interface FeatureProvider {
  /** Extract (with progress) whatever is not cached yet. */
  ensure(paths: string[]): Promise<void>;
  get(path: string): Promise<ImageFeatures>;
}

/** Ground-truth mask loader: [size * size] of 0/1 (src/clip loadMask in production). */
export type MaskLoader = (path: string, size: number) => Promise<Uint8Array>;
