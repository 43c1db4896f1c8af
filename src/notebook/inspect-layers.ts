/**
 * "Look inside the layers" for the quick-start notebook and `simclip figures`: for each hooked
 * block, how far each patch token is from the image's mean patch token (1 - cosine), on the raw
 * residual stream that SimCLIP's adapters read (peer convention: no ln_post, class token dropped).
 * Before any training this shows what each depth responds to; it is not an anomaly detector.
 */
import type { ClipModel } from "../clip/model.js";
import { loadMask } from "../clip/preprocess.js";
import type { Sample } from "../data/sample.js";
import { ShapeError } from "../errors.js";
import type { HeatmapRow } from "../viz/heatmap-grid.js";
import { loadRgb } from "../viz/image.js";

/** [grid * grid] distances of each patch token from the mean patch token of one image at one layer. */
export function patchDistanceFromMean(tokens: Float32Array, numTokens: number, width: number): Float32Array {
  if (tokens.length !== numTokens * width) throw new ShapeError(`patchDistanceFromMean: ${tokens.length} values, expected ${numTokens} tokens x ${width}`);
  const p = numTokens - 1;
  const mean = new Float64Array(width);
  for (let t = 1; t < numTokens; t++) for (let k = 0; k < width; k++) mean[k] += tokens[t * width + k] / p;
  let meanNorm = 0;
  for (let k = 0; k < width; k++) meanNorm += mean[k] * mean[k];
  meanNorm = Math.sqrt(meanNorm);
  const out = new Float32Array(p);
  for (let t = 1; t < numTokens; t++) {
    let dot = 0;
    let norm = 0;
    for (let k = 0; k < width; k++) {
      const v = tokens[t * width + k];
      dot += v * mean[k];
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
    for (let x = 0; x < size; x++) out[y * size + x] = grid[gy * g + Math.min(g - 1, Math.floor((x * g) / size))];
  }
  return out;
}

/** One heatmap row per sample: image, ground truth, and the distance map of each layer. */
export async function layerDistanceRows(model: ClipModel, samples: Sample[], layers: number[], size: number): Promise<HeatmapRow[]> {
  const out = await model.encodeImageFiles(samples.map((s) => s.imagePath), { layers, size, transform: "square" });
  const g = Math.round(Math.sqrt(out.numTokens - 1));
  const per = out.numTokens * out.width;
  const rows: HeatmapRow[] = [];
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    const maps = layers.map((l) => {
      const h = out.hiddenStates.get(l);
      if (!h) throw new ShapeError(`layerDistanceRows: the model returned no hidden state for layer ${l}`);
      return upsampleNearest(patchDistanceFromMean(h.subarray(i * per, (i + 1) * per), out.numTokens, out.width), g, size);
    });
    rows.push({
      label: `${s.category} / ${s.defectType}`,
      image: await loadRgb(s.imagePath, size),
      mask: s.maskPath === null ? null : await loadMask(s.maskPath, size),
      maps,
    });
  }
  return rows;
}
