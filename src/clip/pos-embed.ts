/**
 * Positional-embedding interpolation for input sizes other than the native one (peers run
 * ViT-L/14-336, a 24 x 24 grid, at 518 px: 37 x 37).
 *
 * Peer convention (ChengHaodeng/SimCLIP and ByChelsea/VAND-APRIL-GAN, `open_clip/model.py`
 * `resize_pos_embed`): the class position is kept apart; the grid goes through
 * `F.interpolate(mode="bicubic", align_corners=False, antialias=True)`. With `antialias=True` torch
 * uses its separable "AA" kernel, i.e. Pillow's resampling scheme in floating point: Keys cubic with
 * a = -0.5 (not the a = -0.75 of the non-antialiased path), support 2 * max(scale, 1), taps clipped
 * to the image and re-normalised (no border replication). We implement exactly that (float64 here,
 * float32 result).
 */
import type { WeightTensor } from "./weights.js";
import { ShapeError } from "../errors.js";

function keysCubic(x: number, a = -0.5): number {
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

interface Taps {
  start: number;
  weights: Float64Array;
}

/** torch `_compute_weights_aa` for one axis of size `inSize` -> `outSize`. */
export function antialiasBicubicTaps(inSize: number, outSize: number): Taps[] {
  const scale = inSize / outSize;
  const support = 2 * Math.max(scale, 1);
  const invScale = scale >= 1 ? 1 / scale : 1;
  const taps: Taps[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    const w = new Float64Array(xmax - xmin);
    let total = 0;
    for (let j = 0; j < w.length; j++) {
      w[j] = keysCubic((j + xmin - center + 0.5) * invScale);
      total += w[j]!;
    }
    if (total !== 0) for (let j = 0; j < w.length; j++) w[j] = w[j]! / total;
    taps.push({ start: xmin, weights: w });
  }
  return taps;
}

/**
 * Resize a channels-last grid [h, w, c] to [outH, outW, c] with the antialiased bicubic above
 * (separable: width first, then height).
 */
export function resizeBicubicAA(data: Float32Array | Float64Array, h: number, w: number, c: number, outH: number, outW: number): Float64Array {
  const tx = antialiasBicubicTaps(w, outW);
  const ty = antialiasBicubicTaps(h, outH);
  const mid = new Float64Array(h * outW * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < outW; x++) {
      const { start, weights } = tx[x]!;
      const o = (y * outW + x) * c;
      for (let k = 0; k < weights.length; k++) {
        const s = (y * w + start + k) * c;
        const wk = weights[k]!;
        for (let ch = 0; ch < c; ch++) mid[o + ch] += wk * data[s + ch]!;
      }
    }
  }
  const out = new Float64Array(outH * outW * c);
  for (let y = 0; y < outH; y++) {
    const { start, weights } = ty[y]!;
    for (let k = 0; k < weights.length; k++) {
      const wk = weights[k]!;
      const src = (start + k) * outW * c;
      const dst = y * outW * c;
      for (let i = 0; i < outW * c; i++) out[dst + i] += wk * mid[src + i]!;
    }
  }
  return out;
}

/**
 * `pos` [1 + g0^2, W] (class position first) -> [1 + grid^2, W]. Returns a fresh copy even when
 * the grid is already native, so callers may modify it.
 */
export function interpolatePosEmbed(pos: WeightTensor, grid: number): WeightTensor {
  return resizePatchPositions(pos, grid, (patches, g0, width) => resizeBicubicAA(patches, g0, g0, width, grid, grid));
}

/**
 * The class position kept, the g0 x g0 patch positions resized to grid x grid by `resize` (called
 * only when the grid changes); checks the shapes.
 */
function resizePatchPositions(pos: WeightTensor, grid: number, resize: (patches: Float32Array, g0: number, width: number) => ArrayLike<number>): WeightTensor {
  const [tokens, width] = pos.shape as [number, number];
  const g0 = Math.round(Math.sqrt(tokens - 1));
  if (pos.shape.length !== 2 || g0 * g0 + 1 !== tokens)
    throw new ShapeError(`visual.positional_embedding: expected [1 + g*g, width], found [${pos.shape.join(", ")}]`);
  if (!Number.isInteger(grid) || grid < 1) throw new ShapeError(`positional-embedding grid must be a positive integer, got ${grid}`);
  if (grid === g0) return { data: pos.data.slice(), shape: [tokens, width] };
  const out = new Float32Array((1 + grid * grid) * width);
  out.set(pos.data.subarray(0, width), 0);
  out.set(resize(pos.data.subarray(width), g0, width), width);
  return { data: out, shape: [1 + grid * grid, width] };
}

/** torch's 1-D linear-resize taps with align_corners false and no antialias: (i0, i1, weight of i1) per output. */
function bilinearTaps(inSize: number, outSize: number): { i0: number; i1: number; w: number }[] {
  return Array.from({ length: outSize }, (_, i) => {
    const src = Math.max(((i + 0.5) * inSize) / outSize - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    return { i0, i1: Math.min(i0 + 1, inSize - 1), w: src - i0 };
  });
}

/**
 * `interpolatePosEmbed` with AnomalyCLIP's resize: `F.interpolate(mode="bilinear")`, align_corners
 * false, no antialias (its `VisionTransformer.forward`), the class position kept.
 */
export function interpolatePosEmbedBilinear(pos: WeightTensor, grid: number): WeightTensor {
  return resizePatchPositions(pos, grid, (patches, g0, width) => {
    const taps = bilinearTaps(g0, grid);
    const out = new Float32Array(grid * grid * width);
    const at = (r: number, c: number, ch: number) => patches[(r * g0 + c) * width + ch]!;
    for (let y = 0; y < grid; y++) {
      const ty = taps[y]!;
      for (let x = 0; x < grid; x++) {
        const tx = taps[x]!;
        const o = (y * grid + x) * width;
        for (let ch = 0; ch < width; ch++) {
          const top = at(ty.i0, tx.i0, ch) * (1 - tx.w) + at(ty.i0, tx.i1, ch) * tx.w;
          const bottom = at(ty.i1, tx.i0, ch) * (1 - tx.w) + at(ty.i1, tx.i1, ch) * tx.w;
          out[o + ch] = top * (1 - ty.w) + bottom * ty.w;
        }
      }
    }
    return out;
  });
}
