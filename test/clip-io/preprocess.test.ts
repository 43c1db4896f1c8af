import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { FileFormatError, MissingFileError } from "../../src/errors.js";
import { OPENAI_CLIP_MEAN, OPENAI_CLIP_STD } from "../../src/clip/config.js";
import { clipTransformGeometry, decodeImageUint8, loadMask, preprocessClip, preprocessSquare } from "../../src/clip/preprocess.js";

const FIX = join(import.meta.dirname, "..", "fixtures");
const IMAGES = join(FIX, "clip-tiny", "images");
const ref = JSON.parse(readFileSync(join(FIX, "clip-tiny", "reference.json"), "utf8")) as {
  images: string[];
  preprocess: Record<string, number[][][]>;
  preprocess_info: Record<string, { source_size_wh: [number, number]; resized_size_wh: [number, number]; crop_left: number; crop_top: number }>;
};
const peers = JSON.parse(readFileSync(join(FIX, "clip-io", "transforms.json"), "utf8")) as {
  image: Record<string, string>;
  mask: Record<string, string>;
};
const tmp = mkdtempSync(join(tmpdir(), "simclip-pre-"));

test("clip._transform geometry matches the reference (truncation, round-half-even crop)", () => {
  for (const f of ref.images) {
    const info = ref.preprocess_info[f]!;
    const g = clipTransformGeometry(info.source_size_wh[0], info.source_size_wh[1], 64);
    assert.deepEqual([g.resizedW, g.resizedH, g.left, g.top], [...info.resized_size_wh, info.crop_left, info.crop_top], f);
  }
});

test("preprocessClip is bit-exact to OpenAI's clip._transform on all 5 fixture images", async () => {
  // Measured: max abs error 0, mean abs error 0 on every image (RGB, RGBA, gray; up- and downscaled):
  // the Pillow bicubic replica reproduces the uint8 image exactly and float32 normalisation the values.
  for (const f of ref.images) {
    const got = await preprocessClip(join(IMAGES, f), 64, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD);
    const want = Float32Array.from(ref.preprocess[f]!.flat(2));
    assert.equal(got.length, 3 * 64 * 64);
    let maxErr = 0;
    for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
    assert.equal(maxErr, 0, f);
  }
});

/** Inverts Normalize + ToTensor back to the uint8 image (exact: levels are 0.015 apart after normalising). */
function toUint8Hwc(x: Float32Array, size: number): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < size * size; i++) {
      out[i * 3 + c] = Math.round((x[c * size * size + i]! * OPENAI_CLIP_STD[c]! + OPENAI_CLIP_MEAN[c]!) * 255);
    }
  }
  return out;
}

test("preprocessSquare equals the peers' torchvision Resize((S, S), BICUBIC) on PIL images", async () => {
  let cases = 0;
  for (const [key, b64] of Object.entries(peers.image)) {
    const [file, size] = key.split("@") as [string, string];
    const s = Number(size);
    const path = Number(file.slice(0, 2)) > 5 ? join(FIX, "clip-io", "images", file) : join(IMAGES, file);
    const got = await preprocessSquare(path, s, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD);
    assert.deepEqual(toUint8Hwc(got, s), new Uint8Array(Buffer.from(b64, "base64")), key);
    cases++;
  }
  // 5 fixture images + gray-with-alpha (premultiplied like RGBA), palette and bilevel ones (which
  // Pillow resizes NEAREST), each at 40 and 100 px.
  assert.equal(cases, 16);
});

test("loadMask equals the peers' mask transform (binarise > 0, bilinear, > 0.5)", async () => {
  let cases = 0;
  for (const [key, bits] of Object.entries(peers.mask)) {
    const [file, size] = key.split("@") as [string, string];
    const got = await loadMask(join(FIX, "clip-io", "masks", file), Number(size));
    assert.equal(Array.from(got).join(""), bits, key);
    cases++;
  }
  assert.equal(cases, 4);
});

test("EXIF orientation is applied", async () => {
  const w = 6;
  const h = 4;
  const raw = new Uint8Array(w * h * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) % 256;
  // Lossless WebP keeps pixels exact and carries EXIF, so the rotation can be checked value by value.
  const file = join(tmp, "rot.webp");
  await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .webp({ lossless: true })
    .withMetadata({ orientation: 6 })
    .toFile(file);
  const img = await decodeImageUint8(file);
  assert.deepEqual([img.width, img.height, img.channels], [h, w, 3]);
  // Orientation 6 = rotate 90 degrees clockwise: displayed (x', y') = stored (x = y', y = h - 1 - x').
  for (let y2 = 0; y2 < w; y2++) {
    for (let x2 = 0; x2 < h; x2++) {
      for (let c = 0; c < 3; c++) assert.equal(img.data[(y2 * h + x2) * 3 + c], raw[((h - 1 - x2) * w + y2) * 3 + c]);
    }
  }
});

test("16-bit images decode to their 8-bit values", async () => {
  const raw = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 29) % 256);
  const file = join(tmp, "rgb16.png");
  await sharp(raw, { raw: { width: 5, height: 3, channels: 3 } })
    .toColourspace("rgb16")
    .png()
    .toFile(file);
  assert.equal((await sharp(file).metadata()).depth, "ushort");
  const img = await decodeImageUint8(file);
  assert.deepEqual([img.width, img.height, img.channels], [5, 3, 3]);
  assert.deepEqual(img.data, raw);
});

test("unreadable, corrupt and missing images give typed errors naming the file", async () => {
  const png = readFileSync(join(IMAGES, "03_rgb_200x120.png"));
  const truncated = join(tmp, "truncated.png");
  writeFileSync(truncated, png.subarray(0, Math.floor(png.length / 2)));
  const garbage = join(tmp, "garbage.jpg");
  writeFileSync(garbage, Buffer.from("this is not an image at all"));
  const jpeg = await sharp(readFileSync(join(IMAGES, "03_rgb_200x120.png")))
    .jpeg()
    .toBuffer();
  const truncatedJpeg = join(tmp, "truncated.jpg");
  writeFileSync(truncatedJpeg, jpeg.subarray(0, Math.floor(jpeg.length * 0.6)));
  for (const path of [truncated, garbage, truncatedJpeg]) {
    await assert.rejects(preprocessSquare(path, 32, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD), (e: unknown) => {
      assert.ok(e instanceof FileFormatError, String(e));
      assert.equal(e.path, path);
      assert.match(e.message, /cannot decode image/);
      return true;
    });
  }
  await assert.rejects(loadMask(Buffer.from([1, 2, 3]), 8), (e: unknown) => e instanceof FileFormatError && /image buffer of 3 bytes/.test(e.message));
  await assert.rejects(
    preprocessClip(join(tmp, "absent.png"), 32, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD),
    (e: unknown) => e instanceof MissingFileError && e.path === join(tmp, "absent.png"),
  );
});
