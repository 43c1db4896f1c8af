/**
 * One-image (or a few) inference without a dataset: features straight from the frozen backbone (no
 * cache), then the method's maps and scores (`viz/prediction.ts` writes `simclip predict`'s files).
 */
import path from "node:path";
import type { ClipModel } from "../../clip/model.js";
import { clipFeatureSource } from "../../cache/index.js";
import { InvalidArgumentError } from "../../errors.js";
import type { AnomalyMethod, MethodOutput } from "./types.js";

export interface Prediction {
  image: string;
  category: string;
  score: number;
  /** [size * size], the method's own scale (SimCLIP: sum over layers of probabilities, in [0, #layers]). */
  map: Float32Array;
  size: number;
  /** The normal reference images the few-shot memory was built from (absent: zero-shot). */
  references?: string[];
  /** When asked for (`PredictOptions.layerMaps`) and the method has them: each hooked layer's map (`MethodOutput.layerMaps`). */
  layerMaps?: { layer: number; map: Float32Array }[];
}

export interface PredictOptions {
  /**
   * Few-shot: k normal images of `category` whose features become the method's memory (`setMemory`)
   * before the queries are scored (SimCLIP+, APRIL-GAN few-shot, PatchCore).
   */
  references?: string[];
  /** Also return each hooked layer's map, for methods that have them (SimCLIP, SimCLIP+); maps and scores are unchanged. */
  layerMaps?: boolean;
  /** Told what is being done, before each step (for a progress display). */
  onStage?: (stage: string) => void;
}

/**
 * The queries are scored as one class, exactly as the evaluation runner scores a class: memory from
 * the references, `score`, then `finalizeCategory` over all queries. So for SimCLIP+ and few-shot
 * APRIL-GAN the image score's min-max normalised map maximum is taken over the images of this call
 * (one image: that term is 0, score = half the text probability); maps do not depend on the others.
 */
export async function predictImages(
  method: AnomalyMethod,
  model: ClipModel,
  images: string[],
  category: string,
  opts: PredictOptions = {},
): Promise<Prediction[]> {
  const references = opts.references ?? [];
  if (references.length > 0 && !method.setMemory) {
    throw new InvalidArgumentError(
      `method "${method.name}" is zero-shot only: it takes no reference images; drop --references/--reference-dir or use a few-shot method such as simclip+`,
    );
  }
  const stage = opts.onStage ?? (() => {});
  const source = method.featureSource?.() ?? clipFeatureSource(model, { size: method.size, layers: method.layers });
  stage(`encoding the prompts of "${category}"`);
  await method.prepare?.([category]);
  if (references.length > 0) {
    stage(`extracting the features of ${references.length} reference image(s) and building the memory`);
    await method.setMemory!(category, await source.extract(references));
  }
  stage(`extracting the features of ${images.length} image(s)`);
  const features = await source.extract(images);
  stage(`scoring ${images.length} image(s) with ${method.name}`);
  let out: MethodOutput;
  try {
    out = await method.score({ features, categories: images.map(() => category), ...(opts.layerMaps ? { layerMaps: true } : {}) });
  } catch (err) {
    if (references.length === 0 && method.setMemory && err instanceof InvalidArgumentError) {
      throw new InvalidArgumentError(`${err.message}. From the CLI, give k normal images of the class with --references IMG... or --reference-dir DIR`);
    }
    throw err;
  }
  if (method.finalizeCategory) out = method.finalizeCategory(category, out);
  const refs = references.length > 0 ? { references: references.map((r) => path.resolve(r)) } : {};
  const layered = (i: number) => (out.layerMaps ? { layerMaps: out.layerMaps[i]!.map((map, l) => ({ layer: method.layers[l]!, map })) } : {});
  return images.map((image, i) => ({ image, category, score: out.scores[i]!, map: out.maps[i]!, size: out.size, ...refs, ...layered(i) }));
}
