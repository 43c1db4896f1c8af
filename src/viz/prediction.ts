/** The files of `simclip predict` for one prediction: map PNG, raw .npy, overlay PNG and a JSON summary. */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { colorize, loadRgb, rgbToPng } from "./image.js";
import { encodeNpy } from "./npy.js";

/** What the files show of one prediction (a method's `Prediction` fits): viz depends on nothing above it. */
export interface PredictionRecord {
  image: string;
  category: string;
  score: number;
  /** [size * size], row-major, in the method's own scale. */
  map: Float32Array;
  size: number;
  references?: string[];
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
      throw new InvalidArgumentError(
        `images ${other} and ${images[i]} would both be written as ${n}.json: predict them in separate calls with different --out directories`,
      );
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
export async function renderPrediction(p: PredictionRecord, mapMax: number): Promise<RenderedPrediction> {
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
  p: PredictionRecord,
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
  await writeFile(files.json, `${JSON.stringify(summary, null, 2)}\n`);
  return files;
}
