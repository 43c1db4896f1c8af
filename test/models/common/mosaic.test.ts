import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
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

const FIXTURE = path.join(import.meta.dirname, "..", "..", "fixtures", "mosaic");

interface MosaicReference {
  size: number;
  cases: Record<string, { tiles: { image: string; mask: string | null }[]; canvas: [number, number]; rgb: number[]; mask: number[] }>;
}

async function reference(): Promise<MosaicReference> {
  return JSON.parse(await readFile(path.join(FIXTURE, "reference.json"), "utf8")) as MosaicReference;
}

const tilesOf = (c: MosaicReference["cases"][string]) =>
  c.tiles.map((t) => ({ imagePath: path.join(FIXTURE, "data", t.image), maskPath: t.mask === null ? null : path.join(FIXTURE, "data", t.mask) }));

test("mosaics equal the released combine_img + resize, pixel for pixel (mixed sizes and modes, a good tile over a mask)", async () => {
  const ref = await reference();
  for (const [name, c] of Object.entries(ref.cases)) {
    const m = await buildMosaic(tilesOf(c), ref.size);
    assert.equal(m.size, ref.size);
    assert.deepEqual([...m.rgb], c.rgb, `${name}: image`);
    assert.deepEqual([...m.mask], c.mask, `${name}: mask`);
    assert.ok(c.mask.some((v) => v === 1) && c.mask.some((v) => v === 0), `${name}: the case has both mask values`);
  }
});

test("mosaic files are lossless and content-addressed: the same recipe is reused, another tile order is a new file", async (t) => {
  const dir = await tempDir(t);
  const ref = await reference();
  const c = ref.cases.mixed!;
  const tiles = tilesOf(c);
  const out = path.join(dir, "mosaics");
  const first = await writeMosaic(tiles, ref.size, out);
  const img = await decodeImageUint8(first.imagePath);
  assert.deepEqual([img.width, img.height, img.channels], [ref.size, ref.size, 3]);
  assert.deepEqual([...img.data], c.rgb);
  assert.deepEqual([...(await loadMask(first.maskPath, ref.size))], c.mask);
  const before = (await stat(first.imagePath)).mtimeMs;
  const again = await writeMosaic(tiles, ref.size, out);
  assert.deepEqual(again, first);
  assert.equal((await stat(first.imagePath)).mtimeMs, before);
  const swapped = await writeMosaic([tiles[1]!, tiles[0]!, tiles[2]!, tiles[3]!], ref.size, out);
  assert.notEqual(swapped.imagePath, first.imagePath);
  await assert.rejects(writeMosaic(tiles, 0, out), InvalidArgumentError);
});

function fakeSamples(perClass: Record<string, number>[]): Pick<Sample, "category" | "defectType">[] {
  return perClass.flatMap((folders, c) =>
    Object.entries(folders).flatMap(([defectType, n]) => Array.from({ length: n }, () => ({ category: `c${c}`, defectType }))),
  );
}

test("mosaic draws are a function of seed and epoch: per tile a uniform folder of the item's class, then a uniform image of it", () => {
  const samples = fakeSamples([{ good: 300, crack: 60, hole: 40 }, { good: 100, scratch: 250 }, { good: 250 }]);
  const a = planMosaics(samples, 0.2, 111, 0);
  assert.deepEqual([...planMosaics(samples, 0.2, 111, 0)], [...a]);
  assert.notDeepEqual([...planMosaics(samples, 0.2, 111, 1)], [...a]);
  assert.notDeepEqual([...planMosaics(samples, 0.2, 112, 0)], [...a]);
  const frac = a.size / samples.length;
  assert.ok(frac > 0.17 && frac < 0.23, `fraction of mosaics ${frac}`);
  for (const [i, tiles] of a) for (const j of tiles) assert.equal(samples[j]!.category, samples[i]!.category);
  // Folders are drawn uniformly, whatever their sizes: in class c0 each of 3 folders gets ~1/3 of the tiles.
  const all = planMosaics(samples, 1, 5, 0);
  const c0 = [...all].filter(([i]) => samples[i]!.category === "c0").flatMap(([, ts]) => ts);
  for (const folder of ["good", "crack", "hole"]) {
    const share = c0.filter((j) => samples[j]!.defectType === folder).length / c0.length;
    assert.ok(Math.abs(share - 1 / 3) < 0.04, `${folder}: ${share}`);
  }
  // With replacement: a tile can repeat, and a class of one image still makes mosaics.
  assert.ok([...all.values()].some((ts) => new Set(ts).size < 4));
  const single = planMosaics(fakeSamples([{ good: 1 }]), 1, 0, 0);
  assert.deepEqual([...single], [[0, [0, 0, 0, 0]]]);
  assert.equal(planMosaics(samples, 0, 111, 0).size, 0);
  assert.throws(() => planMosaics(samples, 1.5, 111, 0), InvalidArgumentError);
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

  // A mosaic item carries the features of its own file, its mask, and the label of the item it replaced.
  const source = rerun.source;
  await source.beginEpoch!(0, 111);
  const [i, tiles] = [...planMosaics(samples, 0.5, 111, 0)][0]!;
  const item = await source.get(i);
  const file = await writeMosaic(
    tiles.map((k) => samples[k]!),
    S,
    mosaicDir,
  );
  assert.deepEqual(item.features, await features.get(file.imagePath));
  assert.deepEqual([...item.mask], [...(await loadMask(file.maskPath, S))]);
  assert.equal(item.label, samples[i]!.label);
  assert.equal(item.category, samples[i]!.category);
});
