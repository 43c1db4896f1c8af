/**
 * anomalib's image pre-processing for PatchCore: `read_image` (PIL `convert("RGB")`, float in [0, 1]),
 * `Resize((S, S), antialias=True)` on that float tensor (torch's antialiased bilinear,
 * `F.interpolate(mode="bilinear", align_corners=False, antialias=True)`), ImageNet `Normalize`.
 * anomalib's PatchCore default is S = 256 without a centre crop (`configure_pre_processor`).
 *
 * The resize replicates ATen's separable antialiased kernel (UpSampleKernel.cpp, `_compute_weights_aa`):
 * for output i, center = scale (i + 0.5) with scale = in / out, support = max(scale, 1), taps
 * j in [trunc(center - support + 0.5), trunc(center + support + 0.5)) clipped to the image, weights
 * triangle((j - center + 0.5) / max(scale, 1)) normalised to sum 1; width first, then height, in
 * float32 (unlike Pillow, no rounding to 8 bits in between).
 */
import { decodeImageUint8 } from "../../clip/preprocess.js";
import { InvalidArgumentError } from "../../errors.js";

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array;
  ksize: number;
}

function aaTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const support = Math.max(scale, 1);
  const invscale = scale >= 1 ? 1 / scale : 1;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const t = Math.abs((j + xmin - center + 0.5) * invscale);
      const w = t < 1 ? 1 - t : 0;
      weights[i * ksize + j] = w;
      total += w;
    }
    if (total !== 0) for (let j = 0; j < xsize; j++) weights[i * ksize + j]! /= total;
    start[i] = xmin;
    count[i] = xsize;
  }
  return { start, count, weights, ksize };
}

/** torch's antialiased bilinear resize of planar float [c, h, w] to [c, outH, outW]. */
export function resizeBilinearAntialias(src: Float32Array, c: number, h: number, w: number, outH: number, outW: number): Float32Array {
  if (src.length !== c * h * w) throw new InvalidArgumentError(`resizeBilinearAntialias: ${src.length} values, expected ${c}x${h}x${w}`);
  let cur = src;
  if (outW !== w) {
    const t = aaTaps(w, outW);
    const next = new Float32Array(c * h * outW);
    for (let r = 0; r < c * h; r++) {
      for (let x = 0; x < outW; x++) {
        let s = 0;
        const base = r * w + t.start[x]!;
        for (let j = 0; j < t.count[x]!; j++) s += cur[base + j]! * t.weights[x * t.ksize + j]!;
        next[r * outW + x] = s;
      }
    }
    cur = next;
  }
  if (outH !== h) {
    const t = aaTaps(h, outH);
    const next = new Float32Array(c * outH * outW);
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < outH; y++) {
        const o = (ch * outH + y) * outW;
        for (let j = 0; j < t.count[y]!; j++) {
          const wgt = t.weights[y * t.ksize + j]!;
          const row = (ch * h + t.start[y]! + j) * outW;
          for (let x = 0; x < outW; x++) next[o + x]! += cur[row + x]! * wgt;
        }
      }
    }
    cur = next;
  }
  return cur === src ? src.slice() : cur;
}

/** An image file as anomalib feeds PatchCore: [3, size, size] float32, ImageNet-normalised. */
export async function preprocessImagenet(input: string | Buffer, size: number): Promise<Float32Array> {
  if (!(Number.isInteger(size) && size >= 1)) throw new InvalidArgumentError(`image size must be a positive integer, got ${size}`);
  const img = await decodeImageUint8(input);
  const { width: w, height: h, channels } = img;
  // PIL convert("RGB"): grey replicated, alpha dropped (not composited).
  const planes = new Float32Array(3 * h * w);
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) planes[k * h * w + p] = img.data[p * channels + (channels < 3 ? 0 : k)]! / 255;
  }
  const out = resizeBilinearAntialias(planes, 3, h, w, size, size);
  for (let k = 0; k < 3; k++) {
    const m = IMAGENET_MEAN[k]!;
    const s = IMAGENET_STD[k]!;
    for (let i = k * size * size; i < (k + 1) * size * size; i++) out[i] = (out[i]! - m) / s;
  }
  return out;
}
