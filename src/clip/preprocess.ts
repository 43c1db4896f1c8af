/**
 * Image and mask preprocessing. sharp only decodes (PNG, JPEG, WebP, TIFF, ...; EXIF orientation
 * applied; 16-bit reduced to 8-bit; CMYK converted to sRGB); every resize is the Pillow-exact
 * resampler of `resample.ts`, because the references (OpenAI's `clip._transform`, the peers'
 * torchvision transforms) all resize PIL images.
 *
 * Like Pillow, palette and bilevel images are resized NEAREST (Pillow ignores the filter for modes
 * "P" and "1"), and images with alpha are resized premultiplied.
 *
 * Two deliberate differences from PIL decoding, both invisible on MVTec-AD / VisA / the fixtures:
 * - EXIF orientation is applied (PIL's `Image.open` ignores it, so a phone photo would be sideways);
 * - 16-bit images are scaled to 8 bits by sharp (PIL clips 16-bit grayscale to 0..255 instead).
 */
import { stat } from "node:fs/promises";
import sharp from "sharp";
import { FileFormatError, InvalidArgumentError, MissingFileError } from "../errors.js";
import { pillowResize, pillowResizeNearest } from "./resample.js";

type Rgb = [number, number, number];

/** Decoded 8-bit pixels, interleaved; 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA) channels. */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  /** PIL would open this as a palette ("P") or bilevel ("1") image, which Pillow resizes NEAREST. */
  nearestOnly: boolean;
}

function describe(input: string | Buffer): string {
  return typeof input === "string" ? input : `<image buffer of ${input.length} bytes>`;
}

/** Decodes an image file or buffer to 8-bit pixels; unreadable input -> FileFormatError naming it. */
export async function decodeImageUint8(input: string | Buffer): Promise<DecodedImage> {
  const where = describe(input);
  if (typeof input === "string") {
    try {
      if (!(await stat(input)).isFile()) throw new Error("not a file");
    } catch {
      throw new MissingFileError(input, "image file not found (expected a PNG/JPEG/WebP/TIFF file at this path)");
    }
  }
  try {
    // sharp's default failOn "warning" rejects truncated files, as PIL does (LOAD_TRUNCATED_IMAGES off).
    let img = sharp(input).rotate();
    const meta = await sharp(input).metadata();
    const space = meta.space ?? "srgb";
    const gray = space === "b-w" || space === "grey16";
    // Palette, CMYK, Lab, 16-bit RGB ... become 8-bit sRGB; gray stays one channel like PIL's "L".
    if (!gray && space !== "srgb") img = img.toColourspace("srgb");
    const { data, info } = await img.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    if (info.channels < 1 || info.channels > 4) {
      throw new Error(`decoded to ${info.channels} channels; expected 1 to 4`);
    }
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
      channels: info.channels as 1 | 2 | 3 | 4,
      nearestOnly: meta.isPalette === true || (meta.bitsPerSample === 1 && gray),
    };
  } catch (e) {
    throw new FileFormatError(where, `cannot decode image (${(e as Error).message}); expected a readable PNG, JPEG, WebP or TIFF`);
  }
}

/** PIL `convert("RGB")` of 8-bit pixels: alpha dropped without compositing, gray copied to R, G, B. */
function toRgbPlanes(img: DecodedImage, left: number, top: number, size: number, full: number): Uint8Array[] {
  const planes = [new Uint8Array(size * size), new Uint8Array(size * size), new Uint8Array(size * size)];
  const c = img.channels;
  const colour = c >= 3;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const src = ((top + y) * full + left + x) * c;
      const dst = y * size + x;
      planes[0]![dst] = img.data[src]!;
      planes[1]![dst] = img.data[colour ? src + 1 : src]!;
      planes[2]![dst] = img.data[colour ? src + 2 : src]!;
    }
  }
  return planes;
}

/**
 * torchvision ToTensor + Normalize, each step in float32 as torch does it (the fixture values are
 * reproduced bit for bit this way; one float64 pass would differ by up to 2.4e-7).
 */
function normalise(planes: Uint8Array[], mean: Rgb, std: Rgb): Float32Array {
  const n = planes[0]!.length;
  const out = new Float32Array(3 * n);
  for (let ch = 0; ch < 3; ch++) {
    const m = Math.fround(mean[ch]!);
    const s = Math.fround(std[ch]!);
    const p = planes[ch]!;
    for (let i = 0; i < n; i++) out[ch * n + i] = Math.fround(Math.fround(Math.fround(p[i]! / 255) - m) / s);
  }
  return out;
}

/** Pillow `Image.resize(size, BICUBIC)` as it really behaves for this image's PIL mode. */
function resizeLikePil(img: DecodedImage, outW: number, outH: number): Uint8Array {
  return img.nearestOnly
    ? pillowResizeNearest(img.data, img.width, img.height, img.channels, outW, outH)
    : pillowResize(img.data, img.width, img.height, img.channels, outW, outH, "bicubic");
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size <= 0) throw new InvalidArgumentError(`image size must be a positive integer, got ${size}`);
}

/** Python's round(): half to even, which torchvision's CenterCrop uses for its offsets. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Geometry of `clip._transform(size)` for a width x height image (exported for tests and tools). */
export function clipTransformGeometry(width: number, height: number, size: number): { resizedW: number; resizedH: number; left: number; top: number } {
  // torchvision 0.14 F.resize(int): shorter side -> size, longer side truncated; no-op if equal.
  const shortSide = Math.min(width, height);
  const longSide = Math.max(width, height);
  const newLong = shortSide === size ? longSide : Math.trunc((size * longSide) / shortSide);
  const [resizedW, resizedH] = width <= height ? [size, newLong] : [newLong, size];
  return {
    resizedW,
    resizedH,
    left: roundHalfEven((resizedW - size) / 2),
    top: roundHalfEven((resizedH - size) / 2),
  };
}

/**
 * OpenAI's `clip._transform(size)`: resize the shorter side to `size` (Pillow bicubic), centre crop,
 * convert("RGB"), ToTensor, Normalize. Returns [3, size, size] float32.
 */
export async function preprocessClip(input: string | Buffer, size: number, mean: Rgb, std: Rgb): Promise<Float32Array> {
  checkSize(size);
  const img = await decodeImageUint8(input);
  const g = clipTransformGeometry(img.width, img.height, size);
  const data = resizeLikePil(img, g.resizedW, g.resizedH);
  return normalise(toRgbPlanes({ ...img, data }, g.left, g.top, size, g.resizedW), mean, std);
}

/**
 * The anomaly-detection peers' transform (APRIL-GAN / SimCLIP: `Resize((S, S), BICUBIC)`,
 * `CenterCrop(S)`, ToTensor, Normalize): the whole image squeezed to S x S, aspect ignored, so that
 * pixel maps stay aligned with the masks of `loadMask`. Returns [3, S, S] float32.
 */
export async function preprocessSquare(input: string | Buffer, size: number, mean: Rgb, std: Rgb): Promise<Float32Array> {
  checkSize(size);
  const img = await decodeImageUint8(input);
  const data = resizeLikePil(img, size, size);
  return normalise(toRgbPlanes({ ...img, data }, 0, 0, size, size), mean, std);
}

/**
 * Ground-truth mask as the peers load it: `convert("L")`, binarise `> 0` (VisA masks hold class ids,
 * not 0/1), back to 0/255, `Resize((S, S))` (Pillow bilinear), ToTensor, `> 0.5`.
 * Returns Uint8Array [S * S] of 0/1, row-major.
 */
export async function loadMask(input: string | Buffer, size: number): Promise<Uint8Array> {
  checkSize(size);
  const img = await decodeImageUint8(input);
  return resizeBinaryMask(binaryMaskPixels(img), img.width, img.height, size);
}

/** A mask image's `convert("L")` binarised `> 0`, as 0/255 [width * height]. */
export function binaryMaskPixels(img: DecodedImage): Uint8Array {
  const n = img.width * img.height;
  const c = img.channels;
  const binary = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let lum: number;
    if (c >= 3) {
      // PIL's RGB -> L: ITU-R 601-2 luma in 16-bit fixed point (Convert.c L24 macro).
      const r = img.data[i * c]!;
      const g = img.data[i * c + 1]!;
      const b = img.data[i * c + 2]!;
      lum = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
    } else {
      lum = img.data[i * c]!;
    }
    binary[i] = lum > 0 ? 255 : 0;
  }
  return binary;
}

/** 0/255 mask pixels [width * height] -> `Resize((S, S))` (Pillow bilinear), ToTensor, `> 0.5`: 0/1 [S * S]. */
export function resizeBinaryMask(binary: Uint8Array, width: number, height: number, size: number): Uint8Array {
  const resized = pillowResize(binary, width, height, 1, size, size, "bilinear");
  const out = new Uint8Array(size * size);
  // ToTensor gives v / 255; v / 255 > 0.5 holds exactly for v >= 128.
  for (let i = 0; i < out.length; i++) out[i] = resized[i]! >= 128 ? 1 : 0;
  return out;
}
