import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { InvalidArgumentError } from "../../src/errors.js";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { generateSynth, loadMvtec, loadVisa, loadMetaJson, renderSynthImage, SYNTH_CATEGORIES, SYNTH_SETS } from "../../src/data/index.js";
import { makeRgb, setPixel, type Rgb } from "../../src/data/synth/canvas.js";
import { paintDefect, PAINTED_DEFECTS, MIN_CONTRAST } from "../../src/data/synth/defects.js";
import { createRng } from "../../src/data/random.js";

process.env.SIMCLIP_QUIET = "1";

const count = (m: Uint8Array) => m.reduce((a, v) => a + v, 0);

async function decodeGrey(file: string): Promise<Uint8Array> {
  const { data } = await sharp(file).greyscale().raw().toBuffer({ resolveWithObject: true });
  return new Uint8Array(data);
}

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  return out.sort();
}

test("category sets: >= 4 textures and >= 4 objects, two disjoint sets covering every defect family", () => {
  const kinds = Object.values(SYNTH_CATEGORIES).map((c) => c.kind);
  assert.ok(kinds.filter((k) => k === "texture").length >= 4);
  assert.ok(kinds.filter((k) => k === "object").length >= 4);
  assert.equal(SYNTH_SETS.A.filter((c) => (SYNTH_SETS.B as readonly string[]).includes(c)).length, 0);
  const defects = new Set(Object.values(SYNTH_CATEGORIES).flatMap((c) => c.defects));
  for (const d of ["scratch", "crack", "hole", "stain", "contamination", "missing_part", "misplaced_part"]) assert.ok(defects.has(d as never), d);
});

test("painted defects change exactly the pixels of the region they return, even on flat black/white/mid surfaces", () => {
  const surfaces: [string, (i: number) => [number, number, number]][] = [
    ["black", () => [0, 0, 0]],
    ["white", () => [255, 255, 255]],
    ["mid grey", () => [128, 128, 128]],
    ["stain-coloured", () => [95, 60, 25]],
    ["random", (i) => [(i * 37) % 256, (i * 91) % 256, (i * 53) % 256]],
  ];
  for (const [name, colour] of surfaces) {
    for (const type of PAINTED_DEFECTS) {
      for (let trial = 0; trial < 3; trial++) {
        const img: Rgb = makeRgb(96);
        for (let i = 0; i < 96 * 96; i++) setPixel(img, i, ...colour(i));
        const before = img.data.slice();
        const region = paintDefect(img, type, createRng("paint-test", name, type, trial), null);
        if (region === null) continue;
        assert.ok(count(region) > 0);
        for (let i = 0; i < 96 * 96; i++) {
          const diff = Math.max(...[0, 1, 2].map((c) => Math.abs(img.data[3 * i + c]! - before[3 * i + c]!)));
          if (region[i]) assert.ok(diff >= MIN_CONTRAST, `${name}/${type}: pixel ${i} in the region changed by only ${diff}`);
          else assert.equal(diff, 0, `${name}/${type}: pixel ${i} outside the region changed`);
        }
      }
    }
  }
});

test("rendered images: masks empty exactly for normal images; object defects stay inside the object", () => {
  for (const [category, spec] of Object.entries(SYNTH_CATEGORIES)) {
    const normal = renderSynthImage({ category, seed: 5, size: 96, key: "test/0", defect: null });
    assert.equal(count(normal.mask), 0, category);
    assert.deepEqual(normal.image, normal.clean);
    assert.equal(normal.silhouette === null, spec.kind === "texture", category);
    for (const [k, defect] of spec.defects.entries()) {
      const img = renderSynthImage({ category, seed: 5, size: 96, key: `test/${k + 1}`, defect });
      assert.ok(count(img.mask) > 0, `${category}/${defect}: empty mask`);
      // The image differs from its clean version exactly on the mask.
      for (let i = 0; i < img.mask.length; i++) {
        const changed = [0, 1, 2].some((c) => img.image[3 * i + c] !== img.clean[3 * i + c]);
        assert.equal(changed, img.mask[i] === 1, `${category}/${defect}: pixel ${i}`);
        if (img.silhouette && img.mask[i]) assert.equal(img.silhouette[i], 1, `${category}/${defect}: defect pixel ${i} outside the object`);
      }
    }
  }
});

test("normal images of a category vary (a distribution, not one picture)", () => {
  for (const category of Object.keys(SYNTH_CATEGORIES)) {
    const a = renderSynthImage({ category, seed: 1, size: 64, key: "train/0", defect: null });
    const b = renderSynthImage({ category, seed: 1, size: 64, key: "train/1", defect: null });
    assert.notDeepEqual(a.image, b.image, category);
  }
});

test("synth in MVTec layout: same seed gives identical bytes, the MVTec and meta.json loaders read it, masks match", async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "simclip-synth-"));
  try {
    const opts = { layout: "mvtec" as const, seed: 11, size: 64, trainCount: 3, testGoodCount: 2, testAnomalousCount: 5 };
    await generateSynth({ ...opts, out: path.join(tmp, "a") });
    await generateSynth({ ...opts, out: path.join(tmp, "b") });
    await generateSynth({ ...opts, seed: 12, out: path.join(tmp, "c") });
    const files = await listTree(path.join(tmp, "a"));
    assert.deepEqual(files, await listTree(path.join(tmp, "b")));
    let differs = 0;
    for (const f of files) {
      const fa = await readFile(path.join(tmp, "a", f));
      assert.ok(fa.equals(await readFile(path.join(tmp, "b", f))), `${f} differs between two runs with the same seed`);
      if (f.endsWith(".png") && !fa.equals(await readFile(path.join(tmp, "c", f)))) differs++;
    }
    assert.ok(differs > 0, "another seed should give other images");

    const ds = await loadMvtec(path.join(tmp, "a"));
    assert.deepEqual(ds.categories, [...SYNTH_SETS.A].sort());
    assert.equal(ds.samples.length, 4 * 10);
    for (const c of ds.categories) {
      const of = ds.samples.filter((s) => s.category === c);
      assert.equal(of.filter((s) => s.split === "train" && s.label === 0).length, 3);
      assert.equal(of.filter((s) => s.split === "test" && s.label === 0).length, 2);
      assert.equal(of.filter((s) => s.split === "test" && s.label === 1).length, 5);
      assert.ok(new Set(of.filter((s) => s.label === 1).map((s) => s.defectType)).size >= 4, `${c}: defect types not varied`);
    }
    for (const s of ds.samples) {
      assert.equal(s.maskPath !== null, s.label === 1);
      if (s.maskPath === null) continue;
      const mask = await decodeGrey(s.maskPath);
      assert.ok(
        mask.some((v) => v > 0),
        `${s.maskPath} is empty`,
      );
      // Lossless PNG: the written image differs from the clean render exactly on the mask.
      const index =
        2 +
        Number(path.basename(s.imagePath, ".png")) * SYNTH_CATEGORIES[s.category]!.defects.length +
        SYNTH_CATEGORIES[s.category]!.defects.indexOf(s.defectType as never);
      const ref = renderSynthImage({ category: s.category, seed: 11, size: 64, key: `test/${index}`, defect: s.defectType as never });
      const { data: pixels } = await sharp(s.imagePath).raw().toBuffer({ resolveWithObject: true });
      for (let i = 0; i < mask.length; i++) {
        const changed = [0, 1, 2].some((ch) => pixels[3 * i + ch] !== ref.clean[3 * i + ch]);
        assert.equal(changed, mask[i]! > 0, `${s.imagePath}: pixel ${i}`);
      }
    }
    const meta = await loadMetaJson(path.join(tmp, "a"));
    assert.deepEqual(meta.samples, ds.samples);

    // Regenerating over its own output is allowed (and leaves no stale files); a foreign folder is refused.
    await generateSynth({ ...opts, trainCount: 1, out: path.join(tmp, "a") });
    assert.equal((await loadMvtec(path.join(tmp, "a"))).samples.length, 4 * 8);
    await mkdir(path.join(tmp, "real", "screw"), { recursive: true });
    await assert.rejects(
      generateSynth({ ...opts, out: path.join(tmp, "real") }),
      (e: unknown) => e instanceof InvalidArgumentError && /not empty and was not written by "simclip synth"/.test(e.message),
    );
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test("synth in VisA layout: the VisA loader reads it; JPEG images, exact PNG masks", async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "simclip-synth-"));
  try {
    const root = path.join(tmp, "visa");
    await generateSynth({ out: root, layout: "visa", seed: 4, size: 64, trainCount: 2, testGoodCount: 2, testAnomalousCount: 3 });
    const ds = await loadVisa(root);
    assert.deepEqual(ds.categories, [...SYNTH_SETS.B].sort());
    assert.equal(ds.samples.length, 4 * 7);
    for (const s of ds.samples) {
      assert.match(s.imagePath, /Data[/\\]Images[/\\](Normal|Anomaly)[/\\]\d+\.JPG$/);
      assert.equal((await sharp(s.imagePath).metadata()).format, "jpeg");
      assert.equal(s.label === 1, s.split === "test" && s.maskPath !== null);
      if (s.maskPath !== null) assert.ok((await decodeGrey(s.maskPath)).some((v) => v > 0));
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
