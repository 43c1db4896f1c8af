/**
 * Gaussian smoothing of anomaly maps at test time, exactly as the peers call it:
 * `scipy.ndimage.gaussian_filter(map, sigma)` with scipy's defaults (truncate 4.0, mode "reflect",
 * i.e. the edge sample repeated: d c b a | a b c d), separable, accumulated in float64.
 * SimCLIP uses sigma 7, AnomalyCLIP sigma 4, APRIL-GAN none.
 */
import { InvalidArgumentError } from "../../errors.js";

function kernel(sigma: number, truncate: number): Float64Array {
  const radius = Math.floor(truncate * sigma + 0.5);
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp((-0.5 * i * i) / (sigma * sigma));
    k[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/** scipy's "reflect" boundary for any offset (also when the kernel is wider than the image). */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - 1 - j;
  return j;
}

/** Smooth a row-major [height, width] map; returns a new Float32Array. */
export function gaussianFilter(map: Float32Array, height: number, width: number, sigma: number, truncate = 4): Float32Array {
  if (map.length !== height * width) {
    throw new InvalidArgumentError(`gaussianFilter: map has ${map.length} values, expected ${height} x ${width}`);
  }
  if (!(sigma > 0)) throw new InvalidArgumentError(`gaussianFilter: sigma must be > 0, got ${sigma}`);
  const k = kernel(sigma, truncate);
  const r = (k.length - 1) / 2;
  // scipy filters axis 0 first, then axis 1, rounding to the output dtype (float32) in between.
  const tmp = new Float32Array(height * width);
  const colIdx = new Int32Array(height + 2 * r);
  for (let i = 0; i < colIdx.length; i++) colIdx[i] = reflect(i - r, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let t = 0; t < k.length; t++) s += k[t]! * map[colIdx[y + t]! * width + x]!;
      tmp[y * width + x] = s;
    }
  }
  const out = new Float32Array(height * width);
  const rowIdx = new Int32Array(width + 2 * r);
  for (let i = 0; i < rowIdx.length; i++) rowIdx[i] = reflect(i - r, width);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let t = 0; t < k.length; t++) s += k[t]! * tmp[base + rowIdx[x + t]!]!;
      out[base + x] = s;
    }
  }
  return out;
}

/**
 * The same 1-D filter (scipy "reflect" boundary) as an [n, n] matrix M, so that smoothing a map X is
 * M X M^T: two plain matrix products, which an ONNX graph can carry (ONNX Pad has no scipy-style
 * "reflect": its "reflect" skips the edge sample).
 */
export function gaussianMatrix(n: number, sigma: number, truncate = 4): Float32Array {
  const k = kernel(sigma, truncate);
  const r = (k.length - 1) / 2;
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let t = 0; t < k.length; t++) m[i * n + reflect(i + t - r, n)]! += k[t]!;
  return Float32Array.from(m);
}
