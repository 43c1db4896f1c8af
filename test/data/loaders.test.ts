import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { FileFormatError, InvalidArgumentError, MissingFileError } from "../../src/errors.js";
import { EmptyCategoryError, loadCustom, loadDataset, loadMetaJson, loadMvtec, loadVisa, writeMetaJson } from "../../src/data/index.js";

async function png(file: string, w = 8, h = 8, channels: 1 | 3 = 3): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(
    file,
    await sharp(Buffer.alloc(w * h * channels, 90), { raw: { width: w, height: h, channels } })
      .png()
      .toBuffer(),
  );
}

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "simclip-loaders-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A 2-category MVTec tree: bottle (2 train, 1 good, 2 broken) and zipper (1 train, 1 good, 1 squeezed). */
async function mvtecTree(root: string): Promise<void> {
  for (const f of ["000", "001"]) await png(path.join(root, "bottle/train/good", `${f}.png`));
  await png(path.join(root, "bottle/test/good/000.png"));
  for (const f of ["000", "001"]) {
    await png(path.join(root, "bottle/test/broken", `${f}.png`));
    await png(path.join(root, "bottle/ground_truth/broken", `${f}_mask.png`), 8, 8, 1);
  }
  await png(path.join(root, "zipper/train/good/000.png"));
  await png(path.join(root, "zipper/test/good/000.png"));
  await png(path.join(root, "zipper/test/squeezed/000.png"));
  await png(path.join(root, "zipper/ground_truth/squeezed/000_mask.png"), 8, 8, 1);
  await writeFile(path.join(root, "license.txt"), "not a category");
  await writeFile(path.join(root, "bottle/test/good/.DS_Store"), "ignored");
}

test("MVTec loader: samples, labels, masks, sorted order, category selection", () =>
  withTmp(async (root) => {
    await mvtecTree(root);
    const ds = await loadMvtec(root);
    assert.equal(ds.name, "mvtec");
    assert.deepEqual(ds.categories, ["bottle", "zipper"]);
    const rel = (p: string | null) => (p === null ? null : path.relative(root, p));
    assert.deepEqual(
      ds.samples.map((s) => [rel(s.imagePath), rel(s.maskPath), s.label, s.category, s.defectType, s.split]),
      [
        ["bottle/train/good/000.png", null, 0, "bottle", "good", "train"],
        ["bottle/train/good/001.png", null, 0, "bottle", "good", "train"],
        ["bottle/test/broken/000.png", "bottle/ground_truth/broken/000_mask.png", 1, "bottle", "broken", "test"],
        ["bottle/test/broken/001.png", "bottle/ground_truth/broken/001_mask.png", 1, "bottle", "broken", "test"],
        ["bottle/test/good/000.png", null, 0, "bottle", "good", "test"],
        ["zipper/train/good/000.png", null, 0, "zipper", "good", "train"],
        ["zipper/test/good/000.png", null, 0, "zipper", "good", "test"],
        ["zipper/test/squeezed/000.png", "zipper/ground_truth/squeezed/000_mask.png", 1, "zipper", "squeezed", "test"],
      ],
    );
    const only = await loadMvtec(root, { categories: ["zipper"] });
    assert.deepEqual(only.categories, ["zipper"]);
    assert.equal(only.samples.length, 3);
    const viaSpec = await loadDataset(`mvtec:${root}`);
    assert.deepEqual(viaSpec.samples, ds.samples);
  }));

test("MVTec loader: missing mask -> MissingFileError naming the expected mask file", () =>
  withTmp(async (root) => {
    await mvtecTree(root);
    await rm(path.join(root, "bottle/ground_truth/broken/001_mask.png"));
    await assert.rejects(loadMvtec(root), (e: unknown) => {
      assert.ok(e instanceof MissingFileError);
      assert.equal(e.path, path.join(root, "bottle/ground_truth/broken/001_mask.png"));
      assert.match(e.message, /bottle[/\\]test[/\\]broken[/\\]001\.png/);
      return true;
    });
  }));

test("MVTec loader: a mask of a different size than its image -> FileFormatError naming the mask", () =>
  withTmp(async (root) => {
    await mvtecTree(root);
    await png(path.join(root, "zipper/ground_truth/squeezed/000_mask.png"), 8, 6, 1);
    await assert.rejects(loadMvtec(root), (e: unknown) => {
      assert.ok(e instanceof FileFormatError);
      assert.equal(e.path, path.join(root, "zipper/ground_truth/squeezed/000_mask.png"));
      assert.match(e.message, /8x6 but its image .* is 8x8/);
      return true;
    });
    // check: false skips the header pass (and so this check) for speed.
    assert.equal((await loadMvtec(root, { check: false })).samples.length, 8);
  }));

test("MVTec loader: an unreadable image -> FileFormatError naming it", () =>
  withTmp(async (root) => {
    await mvtecTree(root);
    const bad = path.join(root, "bottle/test/good/000.png");
    await writeFile(bad, "this is not a PNG");
    await assert.rejects(loadMvtec(root), (e: unknown) => e instanceof FileFormatError && e.path === bad && /not a readable image/.test(e.message));
  }));

test("MVTec loader: empty category, no categories, unknown category, missing root", () =>
  withTmp(async (root) => {
    await mvtecTree(root);
    await mkdir(path.join(root, "empty/train/good"), { recursive: true });
    await mkdir(path.join(root, "empty/test/good"), { recursive: true });
    await png(path.join(root, "empty/train/good/000.png"));
    await assert.rejects(
      loadMvtec(root),
      (e: unknown) => e instanceof EmptyCategoryError && e.path === path.join(root, "empty/test") && /"empty" is empty/.test(e.message),
    );
    await rm(path.join(root, "empty/train/good/000.png"));
    await assert.rejects(
      loadMvtec(root, { categories: ["empty"] }),
      (e: unknown) => e instanceof EmptyCategoryError && e.path === path.join(root, "empty/train/good"),
    );
    await assert.rejects(loadMvtec(root, { categories: ["bottle", "botle"] }), (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError);
      assert.match(e.message, /unknown category "botle".*available: bottle, empty, zipper/);
      return true;
    });
    await assert.rejects(loadMvtec(path.join(root, "bottle/train")), (e: unknown) => e instanceof EmptyCategoryError);
    await assert.rejects(loadMvtec(path.join(root, "nope")), (e: unknown) => e instanceof MissingFileError && e.path === path.join(root, "nope"));
  }));

async function visaTree(root: string, csv: string): Promise<void> {
  await png(path.join(root, "candle/Data/Images/Normal/0000.JPG"));
  await png(path.join(root, "candle/Data/Images/Normal/0001.JPG"));
  await png(path.join(root, "candle/Data/Images/Anomaly/000.JPG"));
  await png(path.join(root, "candle/Data/Masks/Anomaly/000.png"), 8, 8, 1);
  await png(path.join(root, "pcb1/Data/Images/Normal/0000.JPG"));
  await png(path.join(root, "pcb1/Data/Images/Anomaly/000.JPG"));
  await png(path.join(root, "pcb1/Data/Masks/Anomaly/000.png"), 8, 8, 1);
  await mkdir(path.join(root, "split_csv"), { recursive: true });
  await writeFile(path.join(root, "split_csv/1cls.csv"), csv);
}

const VISA_CSV = [
  "object,split,label,image,mask",
  "candle,train,normal,candle/Data/Images/Normal/0000.JPG,",
  'candle,test,normal,"candle/Data/Images/Normal/0001.JPG",',
  "candle,test,anomaly,candle/Data/Images/Anomaly/000.JPG,candle/Data/Masks/Anomaly/000.png",
  "pcb1,test,normal,pcb1/Data/Images/Normal/0000.JPG,",
  "pcb1,test,anomaly,pcb1/Data/Images/Anomaly/000.JPG,pcb1/Data/Masks/Anomaly/000.png",
].join("\r\n");

test("VisA loader: reads 1cls.csv (quoted fields, CRLF), paths relative to the root", () =>
  withTmp(async (root) => {
    await visaTree(root, `${VISA_CSV}\r\n`);
    const ds = await loadVisa(root);
    assert.deepEqual(ds.categories, ["candle", "pcb1"]);
    const rel = (p: string | null) => (p === null ? null : path.relative(root, p));
    assert.deepEqual(
      ds.samples.map((s) => [s.category, s.split, s.label, s.defectType, rel(s.imagePath), rel(s.maskPath)]),
      [
        ["candle", "train", 0, "good", "candle/Data/Images/Normal/0000.JPG", null],
        ["candle", "test", 1, "anomaly", "candle/Data/Images/Anomaly/000.JPG", "candle/Data/Masks/Anomaly/000.png"],
        ["candle", "test", 0, "good", "candle/Data/Images/Normal/0001.JPG", null],
        ["pcb1", "test", 1, "anomaly", "pcb1/Data/Images/Anomaly/000.JPG", "pcb1/Data/Masks/Anomaly/000.png"],
        ["pcb1", "test", 0, "good", "pcb1/Data/Images/Normal/0000.JPG", null],
      ],
    );
    assert.deepEqual((await loadVisa(root, { categories: ["pcb1"] })).samples.length, 2);
    await assert.rejects(
      loadVisa(root, { categories: ["pcb9"] }),
      (e: unknown) => e instanceof InvalidArgumentError && /available: candle, pcb1/.test(e.message),
    );
  }));

test("VisA loader: CSV rows pointing at missing files, bad labels, missing columns, missing CSV", () =>
  withTmp(async (root) => {
    const csvPath = path.join(root, "split_csv/1cls.csv");
    await visaTree(root, `${VISA_CSV}\ncandle,test,anomaly,candle/Data/Images/Anomaly/001.JPG,candle/Data/Masks/Anomaly/001.png\n`);
    await assert.rejects(loadVisa(root), (e: unknown) => {
      assert.ok(e instanceof MissingFileError);
      assert.equal(e.path, path.join(root, "candle/Data/Images/Anomaly/001.JPG"));
      assert.match(e.message, /1cls\.csv line 7/);
      return true;
    });
    await writeFile(csvPath, VISA_CSV.replace("candle,test,normal,", "candle,test,good,"));
    await assert.rejects(loadVisa(root), (e: unknown) => e instanceof FileFormatError && e.path === csvPath && /line 3: label is "good"/.test(e.message));
    await writeFile(csvPath, VISA_CSV.replace("candle/Data/Masks/Anomaly/000.png", ""));
    await assert.rejects(loadVisa(root), (e: unknown) => e instanceof FileFormatError && /line 4: anomalous image .* empty mask/.test(e.message));
    await writeFile(csvPath, VISA_CSV.replace("object,split,label,image,mask", "object,split,label,image"));
    await assert.rejects(loadVisa(root), (e: unknown) => e instanceof FileFormatError && /lacks column\(s\) mask/.test(e.message));
    await writeFile(
      csvPath,
      `${VISA_CSV.split("\r\n")
        .filter((l) => !l.startsWith("pcb1,test"))
        .join("\n")}\npcb1,train,normal,pcb1/Data/Images/Normal/0000.JPG,\n`,
    );
    await assert.rejects(loadVisa(root), (e: unknown) => e instanceof EmptyCategoryError && /"pcb1" has no test rows/.test(e.message));
    await rm(csvPath);
    await assert.rejects(loadVisa(root), (e: unknown) => e instanceof MissingFileError && e.path === csvPath);
  }));

test("custom loader: masks optional per category, any image format, no train folder needed", () =>
  withTmp(async (root) => {
    await png(path.join(root, "widget/test/good/a.jpg"));
    await png(path.join(root, "widget/test/dent/b.jpeg"));
    await png(path.join(root, "gear/train/good/t.png"));
    await png(path.join(root, "gear/test/good/a.png"));
    await png(path.join(root, "gear/test/chip/c.png"));
    await png(path.join(root, "gear/ground_truth/chip/c.png"), 8, 8, 1);
    const ds = await loadDataset(`custom:${root}`);
    assert.equal(ds.name, "custom");
    const widget = ds.samples.filter((s) => s.category === "widget");
    assert.deepEqual(
      widget.map((s) => [s.defectType, s.label, s.maskPath]),
      [
        ["dent", 1, null],
        ["good", 0, null],
      ],
    );
    const chip = ds.samples.find((s) => s.defectType === "chip")!;
    assert.equal(chip.maskPath, path.join(root, "gear/ground_truth/chip/c.png"));
    // With a ground_truth/ folder, every anomalous image needs its mask.
    await png(path.join(root, "gear/test/chip/d.png"));
    await assert.rejects(
      loadCustom(root),
      (e: unknown) => e instanceof MissingFileError && e.path === path.join(root, "gear/ground_truth/chip/d_mask.png") && /remove ground_truth/.test(e.message),
    );
  }));

test("meta.json: written from a loaded dataset and read back identically; bad spec strings are rejected", () =>
  withTmp(async (root) => {
    await mvtecTree(root);
    const ds = await loadMvtec(root);
    await writeMetaJson(ds);
    const meta = await loadMetaJson(root);
    assert.deepEqual(meta.samples, ds.samples);
    assert.deepEqual(meta.categories, ds.categories);
    await writeFile(path.join(root, "meta.json"), "{ not json");
    await assert.rejects(loadMetaJson(root), (e: unknown) => e instanceof FileFormatError && /not valid JSON/.test(e.message));
    for (const spec of ["mvtec", "foo:/x", "visa:"]) await assert.rejects(loadDataset(spec), InvalidArgumentError);
  }));
