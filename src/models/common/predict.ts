/**
 * One-image (or a few) inference without a dataset: features straight from the frozen backbone (no
 * cache), then the method's maps and scores, and the PNG/JSON outputs of `simclip predict`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ClipModel } from "../../clip/model.js";
import { clipFeatureSource } from "../../cache/index.js";
import { colorize, loadRgb, rgbToPng } from "../../viz/image.js";
import type { AnomalyMethod } from "./types.js";

export interface Prediction {
  image: string;
  category: string;
  score: number;
  /** [size * size], the method's own scale (SimCLIP: sum over layers of probabilities, in [0, #layers]). */
  map: Float32Array;
  size: number;
}

export async function predictImages(method: AnomalyMethod, model: ClipModel, images: string[], category: string): Promise<Prediction[]> {
  const source = clipFeatureSource(model, { size: method.size, layers: method.layers });
  await method.prepare?.([category]);
  const features = await source.extract(images);
  const out = await method.score({ features, categories: images.map(() => category) });
  return images.map((image, i) => ({ image, category, score: out.scores[i]!, map: out.maps[i]!, size: out.size }));
}

/**
 * Writes `<name>_map.png` (grey levels = map / mapMax, so levels compare across images),
 * `<name>_overlay.png` (jet colours of the same scale over the image, alpha 0.5 as APRIL-GAN's
 * `apply_ad_scoremap`) and `<name>.json` (score, map statistics, file names).
 */
export async function writePrediction(p: Prediction, outDir: string, mapMax: number): Promise<{ json: string; map: string; overlay: string }> {
  await mkdir(outDir, { recursive: true });
  const name = path.basename(p.image).replace(/\.[^.]+$/, "");
  const S = p.size;
  const norm = new Float32Array(p.map.length);
  let max = -Infinity;
  for (let i = 0; i < p.map.length; i++) {
    norm[i] = Math.min(1, Math.max(0, p.map[i]! / mapMax));
    max = Math.max(max, p.map[i]!);
  }
  const grey = new Uint8Array(S * S * 3);
  for (let i = 0; i < norm.length; i++) grey.fill(Math.round(norm[i]! * 255), i * 3, i * 3 + 3);
  const files = { map: path.join(outDir, `${name}_map.png`), overlay: path.join(outDir, `${name}_overlay.png`), json: path.join(outDir, `${name}.json`) };
  await writeFile(files.map, await rgbToPng({ data: grey, width: S, height: S }));
  await writeFile(files.overlay, await rgbToPng(colorize(norm, S, S, await loadRgb(p.image, S))));
  const summary = {
    image: path.resolve(p.image),
    category: p.category,
    score: p.score,
    map_max: max,
    map_scale_max: mapMax,
    size: S,
    map_png: path.basename(files.map),
    overlay_png: path.basename(files.overlay),
  };
  await writeFile(files.json, JSON.stringify(summary, null, 2) + "\n");
  return files;
}
