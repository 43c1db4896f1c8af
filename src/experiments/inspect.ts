/**
 * A look inside the frozen backbone, for the quick-start notebook and `simclip figures`:
 * - its shape and parameter count per part;
 * - per hooked block, how far each patch token is from the image's mean patch token (1 - cosine),
 *   on the raw residual stream SimCLIP's adapters read (class token dropped, no ln_post: see the
 *   patch-token row of docs/simclip.md). Before any training this shows what each depth responds
 *   to; it is not an anomaly detector;
 * - how close the text tower puts SimCLIP's normal and anomalous prompt of each class.
 */
import path from "node:path";
import type { ClipModel } from "../clip/model.js";
import { loadMask } from "../clip/preprocess.js";
import type { Sample } from "../data/sample.js";
import { ShapeError } from "../errors.js";
import { simclipPrompts } from "../models/common/prompts.js";
import type { HeatmapRow } from "../viz/heatmap-grid.js";
import { loadRgb } from "../viz/image.js";

/** Images per vision-tower call: hidden states of a whole test split at once would not fit in memory. */
const BATCH = 16;

/** The backbone's architecture and parameters per part, as rows of a two-column table. */
export function backboneSummary(model: ClipModel): { part: string; value: string }[] {
  const { vision, text, embedDim } = model.config;
  const params = new Map<string, number>();
  for (const [name, t] of model.weights) {
    const part = name.startsWith("visual.transformer.")
      ? "vision blocks"
      : name.startsWith("visual.")
        ? "vision stem / head"
        : name.startsWith("transformer.")
          ? "text blocks"
          : "text embeddings / head";
    params.set(part, (params.get(part) ?? 0) + t.shape.reduce((a, b) => a * b, 1));
  }
  return [
    { part: "model", value: path.basename(model.dir) },
    {
      part: "vision",
      value: `${vision.layers} blocks x width ${vision.width}, ${vision.heads} heads, ${vision.patchSize} px patches at ${vision.imageSize} px`,
    },
    { part: "text", value: `${text.layers} blocks x width ${text.width}, context ${text.contextLength}` },
    { part: "joint embedding", value: String(embedDim) },
    ...[...params].map(([part, n]) => ({ part: `parameters: ${part}`, value: `${(n / 1e6).toFixed(2)} M` })),
  ];
}

/** [grid * grid] distances of each patch token from the mean patch token of one image at one layer. */
export function patchDistanceFromMean(tokens: Float32Array, numTokens: number, width: number): Float32Array {
  if (tokens.length !== numTokens * width) throw new ShapeError(`patchDistanceFromMean: ${tokens.length} values, expected ${numTokens} tokens x ${width}`);
  const p = numTokens - 1;
  const mean = new Float64Array(width);
  for (let t = 1; t < numTokens; t++) for (let k = 0; k < width; k++) mean[k] += tokens[t * width + k]! / p;
  let meanNorm = 0;
  for (const m of mean) meanNorm += m * m;
  meanNorm = Math.sqrt(meanNorm);
  const out = new Float32Array(p);
  for (let t = 1; t < numTokens; t++) {
    let dot = 0;
    let norm = 0;
    for (let k = 0; k < width; k++) {
      const v = tokens[t * width + k]!;
      dot += v * mean[k]!;
      norm += v * v;
    }
    out[t - 1] = 1 - dot / (Math.sqrt(norm) * meanNorm || 1);
  }
  return out;
}

/** Nearest-neighbour upsampling of a grid x grid map to size x size (each patch keeps its score). */
export function upsampleNearest(grid: Float32Array, g: number, size: number): Float32Array {
  if (grid.length !== g * g) throw new ShapeError(`upsampleNearest: ${grid.length} values is not a ${g} x ${g} grid`);
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const gy = Math.min(g - 1, Math.floor((y * g) / size));
    for (let x = 0; x < size; x++) out[y * size + x] = grid[gy * g + Math.min(g - 1, Math.floor((x * g) / size))]!;
  }
  return out;
}

/** Per image, per layer: the size x size patch-distance map (each patch's value over its pixels). */
export async function layerDistanceMaps(model: ClipModel, images: string[], layers: number[], size: number): Promise<Float32Array[][]> {
  const maps: Float32Array[][] = [];
  for (let b = 0; b < images.length; b += BATCH) {
    const out = await model.encodeImageFiles(images.slice(b, b + BATCH), { layers, size, transform: "square" });
    const g = Math.round(Math.sqrt(out.numTokens - 1));
    const per = out.numTokens * out.width;
    for (let i = 0; i < Math.min(BATCH, images.length - b); i++) {
      maps.push(
        layers.map((l) => {
          const h = out.hiddenStates.get(l);
          if (!h) throw new ShapeError(`layerDistanceMaps: the model returned no hidden state for layer ${l}`);
          return upsampleNearest(patchDistanceFromMean(h.subarray(i * per, (i + 1) * per), out.numTokens, out.width), g, size);
        }),
      );
    }
  }
  return maps;
}

/** One heatmap row per sample: image, ground truth, and the distance map of each layer. */
export async function layerDistanceRows(model: ClipModel, samples: Sample[], layers: number[], size: number): Promise<HeatmapRow[]> {
  const maps = await layerDistanceMaps(
    model,
    samples.map((s) => s.imagePath),
    layers,
    size,
  );
  return Promise.all(
    samples.map(async (s, i) => ({
      label: `${s.category} / ${s.defectType}`,
      image: await loadRgb(s.imagePath, size),
      mask: s.maskPath === null ? null : await loadMask(s.maskPath, size),
      maps: maps[i]!,
    })),
  );
}

/**
 * A naive image score from the untrained backbone: the largest patch distance at `layer`. The
 * baseline a trained head has to beat (near chance on a backbone that has never seen an image).
 */
export async function maxLayerDistance(model: ClipModel, images: string[], layer: number, size: number): Promise<number[]> {
  const maps = await layerDistanceMaps(model, images, [layer], size);
  return maps.map(([m]) => m!.reduce((a, b) => Math.max(a, b), -Infinity));
}

/**
 * Per class, SimCLIP's normal and anomalous prompt (src/models/common/prompts.ts) through the frozen
 * text tower: the cosine of their embeddings. A pretrained CLIP puts the two close together, which
 * is the gap SimCLIP's prompt tuning has to open.
 */
export async function statePromptSimilarity(
  model: ClipModel,
  categories: string[],
): Promise<{ class: string; "normal prompt": string; tokens: number; "cos(normal, anomalous)": number }[]> {
  const pairs = categories.map((c) => simclipPrompts(c));
  const out = await model.encodeText(pairs.flatMap((p) => [p.normal[0]!, p.anomalous[0]!]));
  const E = model.config.embedDim;
  const row = (i: number) => out.textEmbeds.subarray(i * E, (i + 1) * E);
  return categories.map((c, k) => ({
    class: c,
    "normal prompt": pairs[k]!.normal[0]!,
    tokens: out.eotIndex[2 * k]! + 1,
    "cos(normal, anomalous)": cosine(row(2 * k), row(2 * k + 1)),
  }));
}

/** Cosine similarity of two equal-length vectors (0 when either is zero). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new ShapeError(`cosine: vectors of ${a.length} and ${b.length} values; expected equal lengths`);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / (Math.sqrt(aa * bb) || 1);
}
