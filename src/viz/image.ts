/** Small RGB image type shared by the PNG and plotly figure writers, and how images get into it. */
import sharp from "sharp";
import { InvalidArgumentError, ShapeError } from "../errors.js";
import { jetColor } from "./colormap.js";

/** 8-bit RGB, row-major, channels interleaved (HWC), as sharp's raw output. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * An image file for display, resized to size x size ignoring aspect ratio like the released code's
 * anomaly-detection transform (src/clip/preprocess.ts; docs/notebooks.md, figure conventions), so that maps computed at that size line up
 * pixel for pixel. sharp's bicubic is close to, not bit-exact with, the Pillow replica used for
 * features: fine for pictures, not for model input.
 */
export async function loadRgb(input: string | Buffer, size: number): Promise<RgbImage> {
  const { data, info } = await sharp(input)
    .resize(size, size, { fit: "fill", kernel: "cubic" })
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** Min-max normalisation to [0, 1] (APRIL-GAN's `normalize` before colouring); a constant map gives 0. */
export function normalizeMap(map: ArrayLike<number>, range?: [number, number]): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  if (range) [lo, hi] = range;
  else {
    for (let i = 0; i < map.length; i++) {
      const v = map[i]!;
      if (Number.isNaN(v)) throw new InvalidArgumentError(`normalizeMap: value ${i} is NaN; anomaly maps must be finite`);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const out = new Float32Array(map.length);
  const span = hi - lo;
  if (span > 0) for (let i = 0; i < map.length; i++) out[i] = Math.min(1, Math.max(0, (map[i]! - lo) / span));
  return out;
}

/** A [0, 1] map in jet colours, blended over `base` with weight `alpha` for the map (0.5, as APRIL-GAN's `apply_ad_scoremap`). */
export function colorize(norm: Float32Array, width: number, height: number, base?: RgbImage, alpha = 0.5): RgbImage {
  if (norm.length !== width * height) throw new ShapeError(`colorize: map has ${norm.length} values, expected ${width} x ${height} = ${width * height}`);
  if (base && (base.width !== width || base.height !== height)) {
    throw new ShapeError(`colorize: map is ${width} x ${height} but the image under it is ${base.width} x ${base.height}; compute maps at the image size`);
  }
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < norm.length; i++) {
    const c = jetColor(norm[i]!);
    for (let k = 0; k < 3; k++) {
      const v = c[k]!;
      data[i * 3 + k] = base ? Math.floor((1 - alpha) * base.data[i * 3 + k]! + alpha * v) : v;
    }
  }
  return { data, width, height };
}

/** A binary mask (0/1) as a white-on-black image. */
export function maskImage(mask: ArrayLike<number>, width: number, height: number): RgbImage {
  if (mask.length !== width * height) throw new ShapeError(`maskImage: mask has ${mask.length} values, expected ${width} x ${height} = ${width * height}`);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < mask.length; i++) data.fill(mask[i]! > 0 ? 255 : 0, i * 3, i * 3 + 3);
  return { data, width, height };
}

export function rgbToPng(img: RgbImage): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toBuffer();
}
