/**
 * One-image (or a few) inference without a dataset: features straight from the frozen backbone (no
 * cache), then the method's maps and scores, and the PNG/JSON outputs of `simclip predict`.
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ClipModel } from "../../clip/model.js";
import { clipFeatureSource } from "../../cache/index.js";
import { colorize, loadRgb, rgbToPng } from "../../viz/image.js";
import { encodeNpy } from "../../viz/npy.js";
import { InvalidArgumentError, MissingFileError } from "../../errors.js";
import { statOrUndefined } from "../../fs-stat.js";
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
export async function predictImages(method: AnomalyMethod, model: ClipModel, images: string[], category: string, opts: PredictOptions = {}): Promise<Prediction[]> {
  const references = opts.references ?? [];
  if (references.length > 0 && !method.setMemory) {
    throw new InvalidArgumentError(`method "${method.name}" is zero-shot only: it takes no reference images; drop --references/--reference-dir or use a few-shot method such as simclip+`);
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

/** Extensions `listReferenceImages` takes (formats sharp decodes). */
const IMAGE_EXTENSIONS = new Set([".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"]);

/** The image files directly in `dir`, sorted by name (the k normal references of `--reference-dir`). */
export async function listReferenceImages(dir: string): Promise<string[]> {
  const info = await statOrUndefined(dir);
  if (!info?.isDirectory()) throw new MissingFileError(dir, "--reference-dir must be a directory of normal images of the class");
  const files = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase()))
    .map((e) => path.join(dir, e.name))
    .sort();
  if (files.length === 0) throw new InvalidArgumentError(`--reference-dir ${dir} holds no images (${[...IMAGE_EXTENSIONS].join(", ")}): put the k normal reference images there`);
  return files;
}

/**
 * Output base names of the images: the file name without extension, or, where two images share it
 * (MVTec's test/crack/000.png and test/good/000.png), `<parent dir>_<name>` for all of those.
 */
export function predictionNames(images: string[]): string[] {
  const stem = (f: string) => path.basename(f).replace(/\.[^.]+$/, "");
  const count = new Map<string, number>();
  for (const f of images) count.set(stem(f), (count.get(stem(f)) ?? 0) + 1);
  const names = images.map((f) => (count.get(stem(f))! > 1 ? `${path.basename(path.dirname(path.resolve(f)))}_${stem(f)}` : stem(f)));
  const seen = new Map<string, string>();
  names.forEach((n, i) => {
    const other = seen.get(n);
    if (other !== undefined && path.resolve(other) !== path.resolve(images[i]!)) {
      throw new InvalidArgumentError(`images ${other} and ${images[i]} would both be written as ${n}.json: predict them in separate calls with different --out directories`);
    }
    seen.set(n, images[i]!);
  });
  return names;
}

/** The bytes of `simclip predict`'s three pictures of one prediction (see `writePrediction`), and the map's maximum. */
export interface RenderedPrediction {
  mapPng: Buffer;
  npy: Buffer;
  overlayPng: Buffer;
  mapMax: number;
}

/**
 * `<name>_map.png` (grey levels = map / mapMax, so levels compare across images), `<name>_map.npy`
 * (the raw map, float32 S x S, before any display scaling, for `np.load`) and `<name>_overlay.png`
 * (jet colours of the same scale over the image, alpha 0.5 as APRIL-GAN's `apply_ad_scoremap`).
 */
export async function renderPrediction(p: Prediction, mapMax: number): Promise<RenderedPrediction> {
  const S = p.size;
  const norm = new Float32Array(p.map.length);
  let max = -Infinity;
  for (let i = 0; i < p.map.length; i++) {
    norm[i] = Math.min(1, Math.max(0, p.map[i]! / mapMax));
    max = Math.max(max, p.map[i]!);
  }
  const grey = new Uint8Array(S * S * 3);
  for (let i = 0; i < norm.length; i++) grey.fill(Math.round(norm[i]! * 255), i * 3, i * 3 + 3);
  return {
    mapPng: await rgbToPng({ data: grey, width: S, height: S }),
    npy: encodeNpy(p.map, [S, S]),
    overlayPng: await rgbToPng(colorize(norm, S, S, await loadRgb(p.image, S))),
    mapMax: max,
  };
}

/** Writes `renderPrediction`'s files and `<name>.json` (score, map statistics, file names). */
export async function writePrediction(
  p: Prediction,
  outDir: string,
  mapMax: number,
  name = predictionNames([p.image])[0]!,
): Promise<{ json: string; map: string; npy: string; overlay: string }> {
  await mkdir(outDir, { recursive: true });
  const files = {
    map: path.join(outDir, `${name}_map.png`),
    npy: path.join(outDir, `${name}_map.npy`),
    overlay: path.join(outDir, `${name}_overlay.png`),
    json: path.join(outDir, `${name}.json`),
  };
  const r = await renderPrediction(p, mapMax);
  await writeFile(files.map, r.mapPng);
  await writeFile(files.npy, r.npy);
  await writeFile(files.overlay, r.overlayPng);
  const summary = {
    image: path.resolve(p.image),
    category: p.category,
    score: p.score,
    map_max: r.mapMax,
    map_scale_max: mapMax,
    size: p.size,
    map_png: path.basename(files.map),
    map_npy: path.basename(files.npy),
    overlay_png: path.basename(files.overlay),
    ...(p.references ? { shots: p.references.length, references: p.references } : {}),
  };
  await writeFile(files.json, JSON.stringify(summary, null, 2) + "\n");
  return files;
}
