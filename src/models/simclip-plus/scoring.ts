/**
 * SimCLIP+'s test-time scoring of one batch (paper Sec. 3.3; authors' `test_few_shot.py`):
 *   final map = language-guided map + M_v (FD on),
 *   language-guided map = M_zero^prior (PAO on, Algorithm 1) or SimCLIP's zero-shot map (PAO off).
 * The image score needs all test images of the class (min-max of the map maxima), so `score` returns
 * the text probabilities and records each image's map maximum; `finalizeCategory` combines them.
 */
import { ShapeError } from "../../errors.js";
import { gaussianFilter } from "../common/gaussian.js";
import { SCORE_CHUNK } from "../common/chunked-scoring.js";
import { stackLayerTokens } from "../common/features.js";
import type { FeatureBatch, ImageFeatures } from "../common/types.js";
import { scoreChunk } from "../simclip/scoring.js";
import { featureDrivenGrid, featureDrivenMap } from "./feature-map.js";
import { mapMaximum } from "../components/image-score.js";
import { neighbourSimilarity, priorAwareGrid, priorAwareMap, type PriorLayerInput } from "./prior-aware.js";
import { adaptPatches, patchAnomalyProbabilities } from "./zero-shot-grid.js";
import type { ClassMemory, SimClipPlus } from "./model.js";

export interface ScoredImage {
  map: Float32Array;
  textProb: number;
  /** Maximum of the map the image score uses (config.imageScoreMap). */
  scoreMapMax: number;
  /** When the batch asked for them: SimCLIP's zero-shot map of each hooked layer (M_l,zero, smoothed), for display. */
  layerMaps?: Float32Array[];
}

export async function scoreSimClipPlus(m: SimClipPlus, batch: FeatureBatch): Promise<ScoredImage[]> {
  const out: ScoredImage[] = [];
  for (let start = 0; start < batch.features.length; start += SCORE_CHUNK) {
    const chunk = batch.features.slice(start, start + SCORE_CHUNK);
    out.push(...(await scoreImages(m, chunk, batch.categories.slice(start, start + SCORE_CHUNK), batch.layerMaps === true)));
  }
  return out;
}

async function scoreImages(m: SimClipPlus, features: ImageFeatures[], categories: string[], perLayer: boolean): Promise<ScoredImage[]> {
  const { config, simclip } = m;
  const S = m.size;
  const g = simclip.grid;
  const P = g * g;
  const sigma = simclip.config.sigma;
  const memories = categories.map((c) => m.memoryOf(c));
  features.forEach((f, i) => {
    if (f.grid !== g) throw new ShapeError(`image ${i} of the batch has a ${f.grid}x${f.grid} patch grid, SimCLIP+ runs at ${g}x${g} (size ${S})`);
  });
  // SimCLIP's zero-shot pass: text probabilities and (unsmoothed, summed) zero-shot maps.
  const zero = await scoreChunk(simclip, features, categories, { perLayer });
  // The released script's image-score maps upsample the logits with align_corners = false instead.
  const scoreZero = config.imageScoreMap === "zero-shot+fd" ? await scoreChunk(simclip, features, categories, { alignCorners: false }) : null;
  const needFd = config.fd || scoreZero !== null;

  const maxCos: Float32Array[][] = features.map(() => []);
  const prior: PriorLayerInput[][] = features.map(() => []);
  // Deepest layer last: Algorithm 1's "last-layer" weighting means the deepest hooked block (24).
  for (const layer of [...m.layers].sort((a, b) => a - b)) {
    const queryProb = config.pao ? await queryProbabilities(m, features, memories, layer) : null;
    for (let i = 0; i < features.length; i++) {
      const tokens = features[i]!.patchTokens.get(layer);
      if (!tokens) throw new ShapeError(`cached features of image ${i} have no layer ${layer}: rebuild the cache with layers ${m.layers.join(",")}`);
      const nn = await memories[i]!.gallery.search(layer, tokens, P);
      maxCos[i]!.push(nn.maxCos);
      if (queryProb) {
        prior[i]!.push({
          queryProb: queryProb.subarray(i * P, (i + 1) * P),
          memoryProb: memories[i]!.memoryProb.get(layer)!,
          index: nn.index,
          similarity: neighbourSimilarity(nn.maxCos),
        });
      }
    }
  }

  const image = (sum: Float32Array, i: number) => smooth(sum.subarray(i * S * S, (i + 1) * S * S), S, sigma);
  return features.map((_, i) => {
    const fdMap = needFd ? featureDrivenMap(featureDrivenGrid(maxCos[i]!), g, S) : null;
    const language = config.pao ? priorAwareMap(priorAwareGrid(prior[i]!, config.weighting), g, S, sigma) : image(zero.sum, i);
    const map = config.fd ? add(language, fdMap!) : language;
    const scoreMapMax = scoreZero ? mapMaximum(add(image(scoreZero.sum, i), fdMap!)) : mapMaximum(map);
    const layerMaps = zero.layers?.map((l) => smooth(l.subarray(i * S * S, (i + 1) * S * S), S, sigma));
    return { map, textProb: zero.prob[i]!, scoreMapMax, ...(layerMaps ? { layerMaps } : {}) };
  });
}

/** M_l,zero of the query patches of every image [n * P] (each image with its class's refined prompts). */
async function queryProbabilities(m: SimClipPlus, features: ImageFeatures[], memories: ClassMemory[], layer: number): Promise<Float32Array> {
  const P = m.simclip.grid ** 2;
  const E = m.simclip.dims.embedDim;
  const tokens = stackLayerTokens(features, layer);
  const adapted = await adaptPatches(m.simclip, layer, tokens, features.length * P);
  const out = new Float32Array(features.length * P);
  features.forEach((_, i) => {
    const rows = adapted.subarray(i * P * E, (i + 1) * P * E);
    out.set(patchAnomalyProbabilities(rows, P, E, memories[i]!.promptDiff, m.simclip.config.logitScale), i * P);
  });
  return out;
}

function smooth(map: Float32Array, S: number, sigma: number): Float32Array {
  return sigma > 0 ? gaussianFilter(map, S, S, sigma) : map.slice();
}

function add(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => v + b[i]!);
}
