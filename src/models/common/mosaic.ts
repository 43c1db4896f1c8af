/**
 * The authors' 2 x 2 mosaic augmentation (SimCLIP's training script, taken from APRIL-GAN's
 * `combine_img`; peer-conventions.md: rate 0.2 when training on MVTec): with probability `rate` a
 * training item is replaced by four images of its class drawn without replacement (`random.sample`,
 * the item itself may be among them), placed row-major in a 2 x 2 grid, with their masks likewise.
 * The authors explain it by VisA's images often holding several objects, MVTec's one.
 *
 * A mosaic is a new image, so its frozen features need the backbone again: each one is written as a
 * real PNG (and its mask as a PNG) under a content-addressed name, and read through the same
 * FeatureCache as every other image (which keys by file content, so re-runs reuse both files and
 * features).
 *
 * Differences from the authors, on purpose:
 * - Each tile is resized to S/2 x S/2 (Pillow bicubic; masks: binarise > 0, bilinear, > 0.5, as every
 *   mask here) and the S x S mosaic is written, which the S x S transform then leaves unchanged. The
 *   authors paste the images at full size and resize the 2W x 2H mosaic; the same up to the bicubic
 *   kernel's reach across tile borders, and images of different sizes tile instead of being cropped.
 * - The mosaic's label is 1 if any tile is anomalous. The authors keep the label of the item the
 *   mosaic replaces, which only their image-level CE (not APRIL-GAN's losses) reads.
 * - Draws come from a seeded generator per (seed, epoch), not Python's global `random`.
 */
import { createHash, randomBytes } from "node:crypto";
import { access, mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { InvalidArgumentError } from "../../errors.js";
import { contentHash } from "../../cache/content-hash.js";
import { decodeImageUint8, loadMask } from "../../clip/preprocess.js";
import { pillowResize, pillowResizeNearest } from "../../clip/resample.js";
import { createRng } from "../../data/random.js";
import type { Sample } from "../../data/sample.js";

const FORMAT = "simclip-mosaic/1";

export interface MosaicOptions {
  /** Probability that an item is replaced by a mosaic in an epoch, in [0, 1]; 0 = off. The authors: 0.2 (MVTec). */
  rate: number;
  /** Where the mosaic PNGs are written; default `<feature cache root>/mosaics`. */
  dir?: string;
}

/** One tile of a mosaic: an image and its mask file (null: normal, an all-zero mask). */
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

function checkMosaicSize(size: number): void {
  if (!(Number.isInteger(size) && size >= 2 && size % 2 === 0)) {
    throw new InvalidArgumentError(`mosaic augmentation tiles four S/2 x S/2 images, so the map size S must be an even integer >= 2, got ${size}; use an even --size or turn the mosaic off`);
  }
}

/** PIL `convert("RGB")` then `resize((half, half), BICUBIC)` (NEAREST for palette images, as Pillow does). */
async function rgbTile(imagePath: string, half: number): Promise<Uint8Array> {
  const img = await decodeImageUint8(imagePath);
  const c = img.channels;
  const n = img.width * img.height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < 3; ch++) rgb[i * 3 + ch] = img.data[i * c + (c >= 3 ? ch : 0)]!;
  }
  return img.nearestOnly
    ? pillowResizeNearest(rgb, img.width, img.height, 3, half, half)
    : pillowResize(rgb, img.width, img.height, 3, half, half, "bicubic");
}

/** The four tiles in a 2 x 2 grid (row-major: top-left, top-right, bottom-left, bottom-right), each at S/2. */
export async function buildMosaic(tiles: readonly MosaicTile[], size: number): Promise<MosaicPixels> {
  if (tiles.length !== 4) throw new InvalidArgumentError(`a 2 x 2 mosaic needs 4 tiles, got ${tiles.length}`);
  checkMosaicSize(size);
  const half = size / 2;
  const rgb = new Uint8Array(size * size * 3);
  const mask = new Uint8Array(size * size);
  for (let t = 0; t < 4; t++) {
    const { imagePath, maskPath } = tiles[t]!;
    const [tileRgb, tileMask] = await Promise.all([rgbTile(imagePath, half), maskPath === null ? null : loadMask(maskPath, half)]);
    const top = Math.floor(t / 2) * half;
    const left = (t % 2) * half;
    for (let y = 0; y < half; y++) {
      const row = (top + y) * size + left;
      rgb.set(tileRgb.subarray(y * half * 3, (y + 1) * half * 3), row * 3);
      if (tileMask) mask.set(tileMask.subarray(y * half, (y + 1) * half), row);
    }
  }
  return { size, rgb, mask };
}

/** Which items of an epoch become mosaics, and of which samples (indices into `samples`). */
export type MosaicPlan = Map<number, [number, number, number, number]>;

/**
 * The epoch's draws, a pure function of (samples' categories, rate, seed, epoch): one stream per
 * (seed, epoch), so a run repeats exactly and every epoch draws afresh, as the authors' per-item
 * `random.random() < aug_rate` does.
 */
export function planMosaics(samples: readonly Pick<Sample, "category">[], rate: number, seed: number, epoch: number): MosaicPlan {
  checkMosaicRate(rate);
  const plan: MosaicPlan = new Map();
  if (rate === 0) return plan;
  const pools = categoryPools(samples);
  const rng = createRng("mosaic", seed, epoch);
  samples.forEach((s, i) => {
    if (rng.next() >= rate) return;
    const pool = [...pools.get(s.category)!];
    for (let k = 0; k < 4; k++) {
      const j = k + rng.int(pool.length - k);
      [pool[k], pool[j]] = [pool[j]!, pool[k]!];
    }
    plan.set(i, [pool[0]!, pool[1]!, pool[2]!, pool[3]!]);
  });
  return plan;
}

/** Sample indices per class; every class needs 4 images to draw a mosaic from (random.sample(…, 4)). */
export function categoryPools(samples: readonly Pick<Sample, "category">[]): Map<string, number[]> {
  const pools = new Map<string, number[]>();
  samples.forEach((s, i) => pools.set(s.category, [...(pools.get(s.category) ?? []), i]));
  const small = [...pools].filter(([, p]) => p.length < 4);
  if (small.length > 0) {
    throw new InvalidArgumentError(
      `mosaic augmentation draws 4 images of one class, but class(es) ${small.map(([c, p]) => `"${c}" (${p.length})`).join(", ")} have fewer; ` +
        "leave them out (--categories) or turn the mosaic off",
    );
  }
  return pools;
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

/** A mosaic on disk: its image and mask PNGs and its label. */
export interface MosaicFile {
  imagePath: string;
  maskPath: string;
  label: 0 | 1;
}

/**
 * The mosaic of `tiles` at size S as files under `dir`, named by the sha256 of the recipe (the tiles'
 * file contents, in order, and S): an existing pair is reused, a missing one built and written
 * atomically (temp name, then rename), so concurrent or killed runs leave only whole files.
 */
export async function writeMosaic(tiles: readonly (MosaicTile & { label: 0 | 1 })[], size: number, dir: string): Promise<MosaicFile> {
  checkMosaicSize(size);
  const recipe = {
    format: FORMAT,
    size,
    tiles: await Promise.all(tiles.map(async (t) => [await contentHash(t.imagePath), t.maskPath === null ? null : await contentHash(t.maskPath)])),
  };
  const key = createHash("sha256").update(JSON.stringify(recipe)).digest("hex");
  const sub = path.join(dir, key.slice(0, 2));
  const imagePath = path.join(sub, `${key}.png`);
  const maskPath = path.join(sub, `${key}_mask.png`);
  const label = tiles.some((t) => t.label === 1) ? 1 : 0;
  if ((await exists(imagePath)) && (await exists(maskPath))) return { imagePath, maskPath, label };
  const m = await buildMosaic(tiles, size);
  const mask255 = Uint8Array.from(m.mask, (v) => v * 255);
  await mkdir(sub, { recursive: true });
  await atomicWrite(maskPath, await sharp(mask255, { raw: { width: size, height: size, channels: 1 } }).png().toBuffer());
  await atomicWrite(imagePath, await sharp(m.rgb, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer());
  return { imagePath, maskPath, label };
}
