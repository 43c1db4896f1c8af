/**
 * The released 2 x 2 mosaic augmentation (SimCLIP's and APRIL-GAN's `MVTecDataset.combine_img`; rate
 * 0.2 when training on MVTec, none on VisA). With probability `rate` a training item is replaced by a
 * mosaic of its class: each of the 4 tiles independently takes a random folder of the class's `test/`
 * (`good` included), then a random file in it (with replacement). The images are pasted at full size
 * into a 2W x 2H canvas (W x H = the first tile's size; a tile of another size is cropped or leaves
 * black, as PIL's paste does), the masks likewise (`good` tiles empty), and the sample keeps the label
 * of the item it replaced. The authors explain it by VisA's images often holding several objects.
 *
 * A mosaic is a new image, so its frozen features need the backbone again. The canvas goes through
 * the same S x S transform as every image (Pillow bicubic for the image; binarise, bilinear, > 0.5 for
 * the mask) and the S x S result is written as a PNG under a content-addressed name: the S x S
 * transform then leaves it unchanged, and the FeatureCache (keyed by file content) reuses both files
 * and features on a re-run. The draws come from a seeded generator per (seed, epoch), not Python's
 * global `random`, so they are reproducible but not the authors' exact draws.
 */
import { createHash, randomBytes } from "node:crypto";
import { access, mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { InvalidArgumentError } from "../../errors.js";
import { contentHash } from "../../cache/content-hash.js";
import { binaryMaskPixels, decodeImageUint8, resizeBinaryMask, type DecodedImage } from "../../clip/preprocess.js";
import { pillowResize } from "../../clip/resample.js";
import { createRng } from "../../data/random.js";
import type { Sample } from "../../data/sample.js";

const FORMAT = "simclip-mosaic/2";

export interface MosaicOptions {
  /** Probability that an item is replaced by a mosaic in an epoch, in [0, 1]; 0 = off. The authors: 0.2 (MVTec). */
  rate: number;
  /** Where the mosaic PNGs are written; default `<feature cache root>/mosaics`. */
  dir?: string;
}

/** One tile of a mosaic: an image and its mask file (null: a `good` image, an empty mask). */
export interface MosaicTile {
  imagePath: string;
  maskPath: string | null;
}

/** An S x S mosaic: RGB interleaved [S * S * 3] and its mask [S * S] of 0/1. */
export interface MosaicPixels {
  size: number;
  rgb: Uint8Array;
  mask: Uint8Array;
}

export function checkMosaicRate(rate: number): void {
  if (!(Number.isFinite(rate) && rate >= 0 && rate <= 1)) {
    throw new InvalidArgumentError(`mosaic rate must be a probability in [0, 1] (the authors use 0.2 on MVTec; 0 turns it off), got ${rate}`);
  }
}

/** PIL `paste(src, (x0, y0))` of a w x h image with `channels` interleaved channels onto a W x H canvas: clipped at its edges. */
function paste(canvas: Uint8Array, cw: number, ch: number, src: Uint8Array, w: number, h: number, x0: number, y0: number, channels: number): void {
  const cols = Math.min(w, cw - x0);
  for (let y = 0; y < Math.min(h, ch - y0); y++) {
    canvas.set(src.subarray(y * w * channels, (y * w + cols) * channels), ((y0 + y) * cw + x0) * channels);
  }
}

/** PIL `convert("RGB")` of decoded pixels: gray copied to R, G, B, alpha dropped. */
function rgbOf(img: DecodedImage): Uint8Array {
  const c = img.channels;
  const n = img.width * img.height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) rgb[i * 3 + k] = img.data[i * c + (c >= 3 ? k : 0)]!;
  return rgb;
}

/**
 * `combine_img` followed by the S x S image and mask transforms: tiles pasted row-major (top-left,
 * top-right, bottom-left, bottom-right) at full size, then the 2W x 2H canvas resized to S x S.
 */
export async function buildMosaic(tiles: readonly MosaicTile[], size: number): Promise<MosaicPixels> {
  if (tiles.length !== 4) throw new InvalidArgumentError(`a 2 x 2 mosaic needs 4 tiles, got ${tiles.length}`);
  if (!(Number.isInteger(size) && size > 0)) throw new InvalidArgumentError(`mosaic size must be a positive integer, got ${size}`);
  const images = await Promise.all(tiles.map((t) => decodeImageUint8(t.imagePath)));
  const { width: W, height: H } = images[0]!;
  const [cw, ch] = [2 * W, 2 * H];
  const canvas = new Uint8Array(cw * ch * 3);
  const maskCanvas = new Uint8Array(cw * ch);
  for (let t = 0; t < 4; t++) {
    const img = images[t]!;
    const [x0, y0] = [(t % 2) * W, Math.floor(t / 2) * H];
    paste(canvas, cw, ch, rgbOf(img), img.width, img.height, x0, y0, 3);
    const maskPath = tiles[t]!.maskPath;
    if (maskPath === null) {
      // The released empty mask is np.zeros((width, height)): a height x width rectangle of zeros.
      paste(maskCanvas, cw, ch, new Uint8Array(img.width * img.height), img.height, img.width, x0, y0, 1);
    } else {
      const mask = await decodeImageUint8(maskPath);
      paste(maskCanvas, cw, ch, binaryMaskPixels(mask), mask.width, mask.height, x0, y0, 1);
    }
  }
  return { size, rgb: pillowResize(canvas, cw, ch, 3, size, size, "bicubic"), mask: resizeBinaryMask(maskCanvas, cw, ch, size) };
}

/** Which items of an epoch become mosaics, and of which samples (indices into `samples`). */
export type MosaicPlan = Map<number, [number, number, number, number]>;

type MosaicSample = Pick<Sample, "category" | "defectType">;

/**
 * The epoch's draws, a pure function of (samples' classes and folders, rate, seed, epoch): one stream
 * per (seed, epoch), so a run repeats exactly and every epoch draws afresh, as the authors' per-item
 * `random.random() < aug_rate` does. Each tile: a uniformly drawn folder of the item's class, then a
 * uniformly drawn image of that folder.
 */
export function planMosaics(samples: readonly MosaicSample[], rate: number, seed: number, epoch: number): MosaicPlan {
  checkMosaicRate(rate);
  const plan: MosaicPlan = new Map();
  if (rate === 0) return plan;
  const folders = classFolders(samples);
  const rng = createRng("mosaic", seed, epoch);
  samples.forEach((s, i) => {
    if (rng.next() >= rate) return;
    const byFolder = folders.get(s.category)!;
    const draw = () => {
      const pool = byFolder[rng.int(byFolder.length)]!;
      return pool[rng.int(pool.length)]!;
    };
    plan.set(i, [draw(), draw(), draw(), draw()]);
  });
  return plan;
}

/** Per class, the sample indices of each of its folders (defect types, `good` included), folders sorted by name. */
function classFolders(samples: readonly MosaicSample[]): Map<string, number[][]> {
  const byClass = new Map<string, Map<string, number[]>>();
  samples.forEach((s, i) => {
    const folders = byClass.get(s.category) ?? new Map<string, number[]>();
    folders.set(s.defectType, [...(folders.get(s.defectType) ?? []), i]);
    byClass.set(s.category, folders);
  });
  return new Map([...byClass].map(([c, f]) => [c, [...f.keys()].sort().map((k) => f.get(k)!)]));
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function atomicWrite(file: string, data: Buffer): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/** A mosaic on disk: its S x S image and mask PNGs. */
export interface MosaicFile {
  imagePath: string;
  maskPath: string;
}

/**
 * The mosaic of `tiles` at size S as files under `dir`, named by the sha256 of the recipe (the tiles'
 * file contents, in order, and S): an existing pair is reused, a missing one built and written
 * atomically (temp name, then rename), so concurrent or killed runs leave only whole files.
 */
export async function writeMosaic(tiles: readonly MosaicTile[], size: number, dir: string): Promise<MosaicFile> {
  const recipe = {
    format: FORMAT,
    size,
    tiles: await Promise.all(tiles.map(async (t) => [await contentHash(t.imagePath), t.maskPath === null ? null : await contentHash(t.maskPath)])),
  };
  const key = createHash("sha256").update(JSON.stringify(recipe)).digest("hex");
  const sub = path.join(dir, key.slice(0, 2));
  const imagePath = path.join(sub, `${key}.png`);
  const maskPath = path.join(sub, `${key}_mask.png`);
  if ((await exists(imagePath)) && (await exists(maskPath))) return { imagePath, maskPath };
  const m = await buildMosaic(tiles, size);
  const mask255 = Uint8Array.from(m.mask, (v) => v * 255);
  await mkdir(sub, { recursive: true });
  await atomicWrite(
    maskPath,
    await sharp(mask255, { raw: { width: size, height: size, channels: 1 } })
      .png()
      .toBuffer(),
  );
  await atomicWrite(
    imagePath,
    await sharp(m.rgb, { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toBuffer(),
  );
  return { imagePath, maskPath };
}
