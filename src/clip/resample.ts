/**
 * A bit-exact replica of Pillow's `Image.resize` for 8-bit images (libImaging/Resample.c,
 * Pillow 9.x, unchanged since 7.0), which is what OpenAI's `clip._transform` and the anomaly-detection
 * peers' torchvision `Resize` run on PIL images (torchvision's `antialias` flag does not apply to PIL
 * input; Pillow always widens the filter when downscaling).
 *
 * - separable, horizontal pass first; each pass rounds to uint8;
 * - filter support scaled by max(in/out, 1); taps normalised to sum 1, then 22-bit fixed point;
 * - bicubic is Keys' cubic with a = -0.5; bilinear the triangle filter;
 * - images with alpha are resized premultiplied (Pillow converts RGBA to RGBa and back);
 * - palette ("P") and bilevel ("1") images are always resized with NEAREST by Pillow, whatever
 *   filter was asked for: `pillowResizeNearest`.
 */
import { InvalidArgumentError } from "../errors.js";

export type PillowFilter = "bicubic" | "bilinear";

const PRECISION_BITS = 32 - 8 - 2;

const FILTERS: Record<PillowFilter, { support: number; kernel: (x: number) => number }> = {
  bicubic: {
    support: 2,
    kernel: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  bilinear: {
    support: 1,
    kernel: (x) => {
      const t = Math.abs(x);
      return t < 1 ? 1 - t : 0;
    },
  },
};

interface Coeffs {
  /** First input index of each output's taps. */
  start: Int32Array;
  count: Int32Array;
  /** Fixed-point weights, `ksize` slots per output. */
  weights: Int32Array;
  ksize: number;
}

/** Resample.c `precompute_coeffs` + `normalize_coeffs_8bpc`. */
function precomputeCoeffs(inSize: number, outSize: number, filter: PillowFilter): Coeffs {
  const { support: baseSupport, kernel } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = baseSupport * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const ss = 1 / filterscale;
  const tmp = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = kernel((x + xmin - center + 0.5) * ss);
      tmp[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? tmp[x]! / ww : tmp[x]!;
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { start, count, weights, ksize };
}

function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return Math.min(255, Math.max(0, v));
}

/** One separable pass along x (`horizontal`) or y, on interleaved uint8 pixels. */
function resamplePass(src: Uint8Array, w: number, h: number, c: number, outLen: number, horizontal: boolean, filter: PillowFilter): Uint8Array {
  const co = precomputeCoeffs(horizontal ? w : h, outLen, filter);
  const outW = horizontal ? outLen : w;
  const outH = horizontal ? h : outLen;
  const out = new Uint8Array(outW * outH * c);
  const half = 1 << (PRECISION_BITS - 1);
  if (horizontal) {
    for (let y = 0; y < h; y++) {
      const row = y * w * c;
      for (let xx = 0; xx < outW; xx++) {
        const k = xx * co.ksize;
        const base = row + co.start[xx]! * c;
        const n = co.count[xx]!;
        const dst = (y * outW + xx) * c;
        if (c === 3) {
          let a0 = half;
          let a1 = half;
          let a2 = half;
          for (let x = 0, p = base; x < n; x++, p += 3) {
            const wt = co.weights[k + x]!;
            a0 += src[p]! * wt;
            a1 += src[p + 1]! * wt;
            a2 += src[p + 2]! * wt;
          }
          out[dst] = clip8(a0);
          out[dst + 1] = clip8(a1);
          out[dst + 2] = clip8(a2);
        } else {
          for (let ch = 0; ch < c; ch++) {
            let acc = half;
            for (let x = 0; x < n; x++) acc += src[base + x * c + ch]! * co.weights[k + x]!;
            out[dst + ch] = clip8(acc);
          }
        }
      }
    }
  } else {
    // Row-wise accumulation keeps memory access sequential; sums are exact integers in float64.
    const stride = w * c;
    const acc = new Float64Array(stride);
    for (let yy = 0; yy < outH; yy++) {
      const k = yy * co.ksize;
      const s = co.start[yy]!;
      const n = co.count[yy]!;
      acc.fill(half);
      for (let y = 0; y < n; y++) {
        const wt = co.weights[k + y]!;
        const off = (s + y) * stride;
        for (let i = 0; i < stride; i++) acc[i]! += src[off + i]! * wt;
      }
      const dst = yy * stride;
      for (let i = 0; i < stride; i++) out[dst + i] = clip8(acc[i]!);
    }
  }
  return out;
}

/** Convert.c `rgbA2rgba`: colour * alpha / 255 with Pillow's rounding (MULDIV255). */
function premultiply(px: Uint8Array, c: number): void {
  for (let i = 0; i < px.length; i += c) {
    const a = px[i + c - 1]!;
    for (let ch = 0; ch < c - 1; ch++) {
      const t = px[i + ch]! * a + 128;
      px[i + ch] = ((t >> 8) + t) >> 8;
    }
  }
}

/** Convert.c `rgba2rgbA`: undo premultiplication except where alpha is 0 or 255. */
function unpremultiply(px: Uint8Array, c: number): void {
  for (let i = 0; i < px.length; i += c) {
    const a = px[i + c - 1]!;
    if (a === 0 || a === 255) continue;
    for (let ch = 0; ch < c - 1; ch++) px[i + ch] = Math.min(255, Math.floor((255 * px[i + ch]!) / a));
  }
}

/** The pixel buffer must match its stated size, and the output size must be positive integers. */
function checkResizeArgs(fn: string, src: Uint8Array, width: number, height: number, channels: number, outW: number, outH: number): void {
  if (src.length !== width * height * channels) {
    throw new InvalidArgumentError(`${fn}: ${width} x ${height} x ${channels} needs ${width * height * channels} bytes, got ${src.length}`);
  }
  if (!(Number.isInteger(outW) && Number.isInteger(outH) && outW > 0 && outH > 0)) {
    throw new InvalidArgumentError(`${fn}: output size must be positive integers, got ${outW} x ${outH}`);
  }
}

/**
 * Pillow `Image.resize((outW, outH), filter)` on interleaved uint8 pixels with `channels` channels.
 * With 2 or 4 channels the last one is alpha and the resize is premultiplied, as Pillow does for
 * LA / RGBA images. Returns a new array (a copy when the size is unchanged, as Pillow does).
 */
export function pillowResize(src: Uint8Array, width: number, height: number, channels: number, outW: number, outH: number, filter: PillowFilter): Uint8Array {
  checkResizeArgs("pillowResize", src, width, height, channels, outW, outH);
  if (outW === width && outH === height) return src.slice();
  const hasAlpha = channels === 2 || channels === 4;
  let px = src.slice();
  if (hasAlpha) premultiply(px, channels);
  let w = width;
  if (outW !== width) {
    px = resamplePass(px, w, height, channels, outW, true, filter);
    w = outW;
  }
  if (outH !== height) px = resamplePass(px, w, height, channels, outH, false, filter);
  if (hasAlpha) unpremultiply(px, channels);
  return px;
}

/**
 * Pillow's NEAREST resize (Geometry.c `ImagingScaleAffine`): source coordinate accumulated in
 * float64 from (0.5 * in / out) in steps of in / out, truncated. Channels are copied unchanged
 * (no premultiplication: palette indices are never blended).
 */
export function pillowResizeNearest(src: Uint8Array, width: number, height: number, channels: number, outW: number, outH: number): Uint8Array {
  checkResizeArgs("pillowResizeNearest", src, width, height, channels, outW, outH);
  const index = (inSize: number, outSize: number): Int32Array => {
    const step = inSize / outSize;
    const tab = new Int32Array(outSize);
    let pos = step * 0.5;
    for (let i = 0; i < outSize; i++) {
      tab[i] = Math.min(Math.trunc(pos), inSize - 1);
      pos += step;
    }
    return tab;
  };
  const xs = index(width, outW);
  const ys = index(height, outH);
  const out = new Uint8Array(outW * outH * channels);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const s = (ys[y]! * width + xs[x]!) * channels;
      const d = (y * outW + x) * channels;
      for (let c = 0; c < channels; c++) out[d + c] = src[s + c]!;
    }
  }
  return out;
}
