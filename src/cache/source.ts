/**
 * What the cache stores and where it comes from. The cache knows nothing of CLIP: any source that
 * names itself (`id`) and turns image files into `ImageFeatures` can fill it (see clip-source.ts).
 */

/** Frozen features of one image. */
export interface ImageFeatures {
  /** 1-based layer -> [P, W] raw residual-stream patch tokens (class token dropped), P = grid * grid. */
  patchTokens: Map<number, Float32Array>;
  /** [W] ln_post(class token of the last layer), before the visual projection. */
  pooled: Float32Array;
  grid: number;
  width: number;
}

export interface FeatureSourceInfo {
  /** Everything that changes the features except the image: model fingerprint, preprocessing, size, layers. */
  id: string;
  /** 1-based layers `extract` returns in `patchTokens`. */
  layers: number[];
  /** Images per `extract` call while filling the cache (default 8): also the resume granularity. */
  batchSize?: number;
  extract(paths: string[]): Promise<ImageFeatures[]>;
  /** What computes the features, for reports (PatchCore's own backbone: "wide_resnet50_2 from FILE, layers 2+3 at 256 px"). */
  description?: string;
  /** The backbone's weights are random (a demo or test backbone): numbers computed from these features mean nothing. */
  random?: boolean;
}

/** The canonical source id: the cache key's part that is not the image content. */
export function featureSourceId(parts: { fingerprint: string; preprocessing: string; size: number; layers: number[] }): string {
  const layers = [...new Set(parts.layers)].sort((a, b) => a - b);
  return `model=${parts.fingerprint};preprocess=${parts.preprocessing};size=${parts.size};layers=${layers.join(",")}`;
}
