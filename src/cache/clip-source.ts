/** Adapts the frozen `ClipModel` facade to the cache's `FeatureSourceInfo`. */
import type { ClipImageTransform, ClipModel } from "../clip/model.js";
import { featureSourceId, type FeatureSourceInfo, type ImageFeatures } from "./source.js";

export interface ClipFeatureSourceOptions {
  /** Input side in pixels (the peers use 518 for ViT-L/14-336: a 37 x 37 grid). */
  size: number;
  /** 1-based hooked blocks (the peers: 6, 12, 18, 24). */
  layers: number[];
  /** Images per onnxruntime run and per cache write. */
  batchSize?: number;
  /** "square" (default): the peers' whole-image resize to size x size; "clip": OpenAI's resize + centre crop. */
  transform?: ClipImageTransform;
  /** AnomalyCLIP's DPAM variant of the tower (`EncodeImagesOptions.dpam`); it names itself in the id. */
  dpam?: { blocks: number };
}

export function clipFeatureSource(model: ClipModel, opts: ClipFeatureSourceOptions): FeatureSourceInfo {
  const transform = opts.transform ?? "square";
  const layers = [...new Set(opts.layers)].sort((a, b) => a - b);
  const grid = opts.size / model.config.vision.patchSize;
  const width = model.config.vision.width;
  return {
    // Mean/std belong to the model (its fingerprinted config), so the transform's name completes the key.
    id:
      featureSourceId({ fingerprint: model.fingerprint, preprocessing: `clip-${transform}`, size: opts.size, layers }) +
      (opts.dpam ? `;vision=dpam-${opts.dpam.blocks}` : ""),
    layers,
    batchSize: opts.batchSize,
    async extract(paths: string[]): Promise<ImageFeatures[]> {
      // Peer convention (APRIL-GAN / SimCLIP): patch tokens are the raw residual stream of each hooked
      // block (no ln_post, no projection) with the class token dropped; only the global feature is
      // ln_post'd (in the DPAM variant it is not: AnomalyCLIP's image feature skips ln_post).
      const out = await model.encodeImageFiles(paths, { size: opts.size, layers, batchSize: opts.batchSize, transform, lnPost: false, dpam: opts.dpam });
      const T = out.numTokens;
      return paths.map((_, i) => ({
        patchTokens: new Map(layers.map((l) => [l, out.hiddenStates.get(l)!.slice((i * T + 1) * width, (i + 1) * T * width)])),
        pooled: out.pooled.slice(i * width, (i + 1) * width),
        grid,
        width,
      }));
    },
  };
}
