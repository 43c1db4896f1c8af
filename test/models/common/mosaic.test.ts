import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { ClipModel } from "../../../src/clip/model.js";
import { writeDemoModel } from "../../../src/clip/demo-model.js";
import { decodeImageUint8, loadMask } from "../../../src/clip/preprocess.js";
import { generateSynth } from "../../../src/data/synth/index.js";
import type { Sample } from "../../../src/data/sample.js";
import { InvalidArgumentError } from "../../../src/errors.js";
import { SimClip } from "../../../src/models/simclip/model.js";
import { buildMosaic, planMosaics, writeMosaic } from "../../../src/models/common/mosaic.js";
import { samplesTrainSource } from "../../../src/models/common/train-data.js";
import { openMethodFeatures } from "../../../src/models/common/setup.js";

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "simclip-mosaic-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function flatPng(file: string, w: number, h: number, rgb: [number, number, number]): Promise<string> {
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toFile(file);
  return file;
}

/** A grey mask PNG, 255 where `on(x, y)`. */
async function maskPng(file: string, w: number, h: number, on: (x: number, y: number) => boolean): Promise<string> {
  const px = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px[y * w + x] = on(x, y) ? 255 : 0;
  await sharp(px, { raw: { width: w, height: h, channels: 1 } }).png().toFile(file);
  return file;
}

const COLOURS: [number, number, number][] = [
  [200, 30, 40],
  [10, 220, 90],
  [60, 70, 250],
  [128, 128, 0],
];

/**
 * Four flat images of different sizes: a fully masked 12 x 12, a 16 x 8 masked on its left half, a
 * normal 10 x 10, a 20 x 20 masked on its top half. At S = 8 each tile is 4 x 4; the half masks
 * split at a tile-pixel boundary, where Pillow's bilinear weights (hand-computed: 3.5 / 4 of the
 * filter on the masked side for the pixel next to the edge) give 223 >= 128 on the masked side and
 * 32 < 128 on the other, so the edge stays exactly in place.
 */
async function handBuiltTiles(dir: string) {
  return [
    { imagePath: await flatPng(path.join(dir, "a.png"), 12, 12, COLOURS[0]!), maskPath: await maskPng(path.join(dir, "a_mask.png"), 12, 12, () => true), label: 1 as const },
    { imagePath: await flatPng(path.join(dir, "b.png"), 16, 8, COLOURS[1]!), maskPath: await maskPng(path.join(dir, "b_mask.png"), 16, 8, (x) => x < 8), label: 1 as const },
    { imagePath: await flatPng(path.join(dir, "c.png"), 10, 10, COLOURS[2]!), maskPath: null, label: 0 as const },
    { imagePath: await flatPng(path.join(dir, "d.png"), 20, 20, COLOURS[3]!), maskPath: await maskPng(path.join(dir, "d_mask.png"), 20, 20, (_x, y) => y < 10), label: 1 as const },
  ];
}

function expectedMosaic(): { rgb: Uint8Array; mask: Uint8Array } {
  const S = 8;
  const rgb = new Uint8Array(S * S * 3);
  const mask = new Uint8Array(S * S);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const t = (y < 4 ? 0 : 2) + (x < 4 ? 0 : 1);
      rgb.set(COLOURS[t]!, (y * S + x) * 3);
      const [tx, ty] = [x % 4, y % 4];
      mask[y * S + x] = t === 0 ? 1 : t === 1 ? Number(tx < 2) : t === 2 ? 0 : Number(ty < 2);
    }
  }
  return { rgb, mask };
}

test("a 2 x 2 mosaic of four flat images puts each, at half size, in its quadrant with its mask", async (t) => {
  const dir = await tempDir(t);
  const tiles = await handBuiltTiles(dir);
  const m = await buildMosaic(tiles, 8);
  const want = expectedMosaic();
  assert.equal(m.size, 8);
  assert.deepEqual([...m.rgb], [...want.rgb]);
  assert.deepEqual([...m.mask], [...want.mask]);

  // On disk: lossless PNGs that the S x S loaders read back unchanged, labelled anomalous (some tile is).
  const f = await writeMosaic(tiles, 8, path.join(dir, "mosaics"));
  assert.equal(f.label, 1);
  const img = await decodeImageUint8(f.imagePath);
  assert.deepEqual([img.width, img.height, img.channels], [8, 8, 3]);
  assert.deepEqual([...img.data], [...want.rgb]);
  assert.deepEqual([...(await loadMask(f.maskPath, 8))], [...want.mask]);
});

test("mosaic files are content-addressed: the same recipe is reused, another tile order is a new file; all-normal tiles give label 0", async (t) => {
  const dir = await tempDir(t);
  const tiles = await handBuiltTiles(dir);
  const out = path.join(dir, "mosaics");
  const first = await writeMosaic(tiles, 8, out);
  const before = (await stat(first.imagePath)).mtimeMs;
  const again = await writeMosaic(tiles, 8, out);
  assert.deepEqual(again, first);
  assert.equal((await stat(first.imagePath)).mtimeMs, before);
  const swapped = await writeMosaic([tiles[1]!, tiles[0]!, tiles[2]!, tiles[3]!], 8, out);
  assert.notEqual(swapped.imagePath, first.imagePath);
  const normal = await writeMosaic([tiles[2]!, tiles[2]!, tiles[2]!, tiles[2]!], 8, out);
  assert.equal(normal.label, 0);
  assert.ok((await loadMask(normal.maskPath, 8)).every((v) => v === 0));
  await assert.rejects(writeMosaic(tiles, 7, out), InvalidArgumentError);
});

function fakeSamples(perClass: number[]): Pick<Sample, "category">[] {
  return perClass.flatMap((n, c) => Array.from({ length: n }, () => ({ category: `c${c}` })));
}

test("mosaic draws are a function of seed and epoch: four distinct images of the item's class, at the given rate", () => {
  const samples = fakeSamples([400, 350, 250]);
  const a = planMosaics(samples, 0.2, 111, 0);
  assert.deepEqual([...planMosaics(samples, 0.2, 111, 0)], [...a]);
  assert.notDeepEqual([...planMosaics(samples, 0.2, 111, 1)], [...a]);
  assert.notDeepEqual([...planMosaics(samples, 0.2, 112, 0)], [...a]);
  const frac = a.size / samples.length;
  assert.ok(frac > 0.17 && frac < 0.23, `fraction of mosaics ${frac}`);
  for (const [i, tiles] of a) {
    assert.equal(new Set(tiles).size, 4);
    for (const j of tiles) assert.equal(samples[j]!.category, samples[i]!.category);
  }
  // Over five epochs at rate 1 every image appears as a tile (a uniform draw over its class misses one with p ~ e^-20).
  const seen = new Set([0, 1, 2, 3, 4].flatMap((e) => [...planMosaics(samples, 1, 5, e).values()].flat()));
  assert.equal(seen.size, samples.length);
  assert.equal(planMosaics(samples, 0, 111, 0).size, 0);
  assert.throws(() => planMosaics(samples, 1.5, 111, 0), InvalidArgumentError);
  assert.throws(() => planMosaics(fakeSamples([5, 3]), 0.2, 111, 0), /"c1" \(3\)/);
});

test("training with mosaics on the tiny model: rate 0 changes nothing; rate 0.5 trains, repeats exactly and reuses its files", async (t) => {
  const dir = await tempDir(t);
  const S = 64;
  await writeDemoModel(path.join(dir, "tiny"), { arch: "tiny", seed: 0 });
  const data = await generateSynth({ out: path.join(dir, "A"), layout: "mvtec", seed: 0, size: S, trainCount: 1, testGoodCount: 2, testAnomalousCount: 3 });
  const samples = data.samples.filter((s) => s.split === "test");
  const model = await ClipModel.load(path.join(dir, "tiny"));
  t.after(() => model.dispose());
  const config = { size: S, layers: [1, 2, 3, 4] };
  const probe = await SimClip.create(model, config, 111);
  const features = await openMethodFeatures(model, probe, path.join(dir, "cache"));
  probe.dispose();
  const mosaicDir = path.join(dir, "mosaics");

  const train = async (mosaic?: { rate: number }) => {
    const method = await SimClip.create(model, config, 111);
    const source = await samplesTrainSource(samples, { features, loadMask, size: S, ...(mosaic ? { mosaic: { ...mosaic, dir: mosaicDir } } : {}) });
    const history = await method.fit(source, { epochs: 2, batchSize: 8, seed: 111 });
    method.dispose();
    return { source, history };
  };

  const plain = await train();
  const zero = await train({ rate: 0 });
  assert.equal(zero.source.beginEpoch, undefined);
  assert.deepEqual(zero.history.steps, plain.history.steps);
  await assert.rejects(readdir(mosaicDir), { code: "ENOENT" });

  const withMosaic = await train({ rate: 0.5 });
  assert.ok(withMosaic.history.epochLoss.every(Number.isFinite), `${withMosaic.history.epochLoss}`);
  assert.notDeepEqual(withMosaic.history.epochLoss, plain.history.epochLoss);
  const files = (await readdir(mosaicDir, { recursive: true })).filter((f) => f.endsWith(".png")).sort();
  const expected = new Set([0, 1].flatMap((e) => [...planMosaics(samples, 0.5, 111, e).values()].map((ts) => ts.join())));
  assert.equal(files.length, 2 * expected.size);

  const times = await Promise.all(files.map(async (f) => (await stat(path.join(mosaicDir, f))).mtimeMs));
  const rerun = await train({ rate: 0.5 });
  assert.deepEqual(rerun.history.steps, withMosaic.history.steps);
  assert.deepEqual((await readdir(mosaicDir, { recursive: true })).filter((f) => f.endsWith(".png")).sort(), files);
  assert.deepEqual(await Promise.all(files.map(async (f) => (await stat(path.join(mosaicDir, f))).mtimeMs)), times);

  // A mosaic item carries the features of its own file, its mask, and label 1 if any tile is anomalous.
  const source = rerun.source;
  await source.beginEpoch!(0, 111);
  const [i, tiles] = [...planMosaics(samples, 0.5, 111, 0)][0]!;
  const item = await source.get(i);
  const file = await writeMosaic(tiles.map((k) => samples[k]!), S, mosaicDir);
  assert.deepEqual(item.features, await features.get(file.imagePath));
  assert.deepEqual([...item.mask], [...(await loadMask(file.maskPath, S))]);
  assert.equal(item.label, tiles.some((k) => samples[k]!.label === 1) ? 1 : 0);
  assert.equal(item.category, samples[i]!.category);
});
