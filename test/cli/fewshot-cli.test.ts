/**
 * `simclip eval` with SimCLIP+'s switches and `simclip predict` with few-shot references, each
 * against the library run the same way by hand, on the tiny random CLIP of test/fixtures/clip-tiny
 * and a small synthetic MVTec-layout set.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { ClipModel } from "../../src/clip/model.js";
import { loadMask } from "../../src/clip/preprocess.js";
import { FeatureCache, clipFeatureSource } from "../../src/cache/index.js";
import { generateSynth } from "../../src/data/index.js";
import { loadDataset } from "../../src/data/load.js";
import { SimClip } from "../../src/models/simclip/model.js";
import { SimClipPlus } from "../../src/models/simclip-plus/model.js";
import { PatchCore } from "../../src/models/patchcore/model.js";
import { evaluateMethod, type EvaluationResults } from "../../src/models/common/evaluate.js";
import type { AnomalyMethod } from "../../src/models/common/types.js";

const run = promisify(execFile);
const MAIN = path.join(import.meta.dirname, "../../src/cli/main.ts");
const TINY = path.join(import.meta.dirname, "../fixtures/clip-tiny");
const cli = (args: string[]) => run(process.execPath, ["--import", "tsx", MAIN, ...args], { env: { ...process.env, SIMCLIP_QUIET: "1" } });
const fails = (args: string[], pattern: RegExp) =>
  assert.rejects(cli(args), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2, e.stderr);
    assert.match(e.stderr, pattern);
    return true;
  });

const S = 64;
const LAYERS = [1, 2, 3, 4];
const GEOMETRY = ["--size", String(S), "--layers", LAYERS.join(",")];
let tmp: string;
let root: string;
let model: ClipModel;

before(async () => {
  process.env.SIMCLIP_QUIET = "1";
  tmp = await mkdtemp(path.join(os.tmpdir(), "simclip-fewshot-cli-"));
  root = path.join(tmp, "A");
  await generateSynth({ out: root, layout: "mvtec", seed: 0, size: S, categories: ["nut", "grid"], trainCount: 3, testGoodCount: 2, testAnomalousCount: 2 });
  model = await ClipModel.load(TINY);
});

after(async () => {
  await model.dispose();
  await rm(tmp, { recursive: true, force: true });
});

/** The untrained SimCLIP `createMethod("simclip+", {size, layers})` wraps (SimClip.create's default seed). */
const plainSimClipPlus = async (config: ConstructorParameters<typeof SimClipPlus>[1]) =>
  new SimClipPlus(await SimClip.create(model, { size: S, layers: LAYERS }), config);

function assertSameResults(cliMean: EvaluationResults["per_category"], lib: EvaluationResults["per_category"]): void {
  assert.deepEqual(Object.keys(cliMean).sort(), Object.keys(lib).sort());
  for (const [c, row] of Object.entries(lib)) {
    for (const [m, v] of Object.entries(row)) {
      const got = cliMean[c]![m] as { mean: number; std: number };
      const want = v as { mean: number; std: number };
      assert.ok(
        Math.abs(got.mean - want.mean) < 1e-12 && Math.abs(got.std - want.std) < 1e-12,
        `${c} ${m}: cli ${JSON.stringify(got)} library ${JSON.stringify(want)}`,
      );
    }
  }
}

test("simclip eval --no-pao (Table 6 FD only) gives the library's FD-only SimCLIP+ results", async () => {
  const out = path.join(tmp, "fd-only.json");
  await cli([
    "eval",
    "--method",
    "simclip+",
    "--model",
    TINY,
    "--dataset",
    `mvtec:${root}`,
    "--shots",
    "1",
    "--seeds",
    "2",
    ...GEOMETRY,
    "--cache",
    path.join(tmp, "cli-cache"),
    "--out",
    out,
    "--no-pao",
  ]);
  const fromCli = JSON.parse(await readFile(out, "utf8")) as EvaluationResults & { options: Record<string, unknown> };
  assert.deepEqual(fromCli.options, { fd: true, pao: false, weighting: "last-layer", imageScoreMap: "zero-shot+fd" });
  assert.deepEqual([fromCli.method, fromCli.shots, fromCli.seeds], ["simclip+", 1, [0, 1]]);

  const features = await FeatureCache.open(path.join(tmp, "lib-cache"), clipFeatureSource(model, { size: S, layers: LAYERS }));
  const dataset = await loadDataset(`mvtec:${root}`);
  const evaluate = async (m: AnomalyMethod) => {
    const r = await evaluateMethod(m, dataset, { features, loadMask, shots: 1, seeds: [0, 1] });
    m.dispose?.();
    return r;
  };
  const fdOnly = await evaluate(await plainSimClipPlus({ fd: true, pao: false }));
  assertSameResults(fromCli.per_category, fdOnly.per_category);
  assertSameResults({ mean: fromCli.mean }, { mean: fdOnly.mean });
  // The switch changes the method: FD + PAO (the default) differs somewhere.
  const both = await evaluate(await plainSimClipPlus({}));
  assert.notDeepEqual(both.per_category, fdOnly.per_category);
});

test("simclip eval and predict reject options a method does not declare, listing the valid ones", async () => {
  const base = ["--model", TINY, "--out", path.join(tmp, "never")];
  await fails(
    ["eval", "--method", "simclip+", ...base, "--dataset", `mvtec:${root}`, "--option", "fdd=false"],
    /method "simclip\+" has no option "fdd"; options of method "simclip\+": fd=true\|false .*; pao=true\|false .*; weighting=per-layer\|last-layer .*; imageScoreMap=few-shot\|zero-shot\+fd/,
  );
  await fails(
    ["predict", "--method", "patchcore", ...base, "--no-fd", path.join(root, "nut/test/good/000.png")],
    /method "patchcore" has no option "fd"; options of method "patchcore": backbone=wide_resnet50_2\|clip/,
  );
  await fails(
    ["predict", "--method", "simclip+", ...base, "--pao-weighting", "paper", path.join(root, "nut/test/good/000.png")],
    /option weighting must be one of per-layer, last-layer; got "paper"/,
  );
});

async function pngGrey(file: string): Promise<Uint8Array> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [S, S]);
  return Uint8Array.from({ length: S * S }, (_, i) => data[i * info.channels]!);
}

/** The grey levels writePrediction draws (map / mapMax clipped to [0, 1], x 255), recomputed from a library map; at most 1 level off (float rounding at .5). */
function assertGreyMatches(grey: Uint8Array, map: Float32Array, mapMax: number, label: string): void {
  let maxDiff = 0;
  for (let i = 0; i < map.length; i++) maxDiff = Math.max(maxDiff, Math.abs(grey[i]! - Math.round(Math.min(1, Math.max(0, map[i]! / mapMax)) * 255)));
  assert.ok(maxDiff <= 1, `${label}: grey levels differ by ${maxDiff}`);
}

test("simclip predict --method simclip+ --references builds the memory and writes the library's maps and scores", async () => {
  const refs = ["000.png", "001.png"].map((f) => path.join(root, "nut/train/good", f));
  const queries = [path.join(root, "nut/test/crack/000.png"), path.join(root, "nut/test/good/000.png")];
  const outDir = path.join(tmp, "pred-plus");
  await cli(["predict", "--method", "simclip+", "--model", TINY, ...GEOMETRY, "--category", "nut", "--out", outDir, ...queries, "--references", ...refs]);

  const plus = await plainSimClipPlus({});
  const source = clipFeatureSource(model, { size: S, layers: LAYERS });
  await plus.setMemory("nut", await source.extract(refs));
  const scored = await plus.score({ features: await source.extract(queries), categories: ["nut", "nut"] });
  const final = plus.finalizeCategory("nut", scored);
  plus.dispose();

  // Same base name 000 in two folders: written as <folder>_000.
  for (const [i, name] of ["crack_000", "good_000"].entries()) {
    const json = JSON.parse(await readFile(path.join(outDir, `${name}.json`), "utf8"));
    assert.equal(json.image, queries[i]);
    assert.deepEqual([json.category, json.size, json.shots, json.references], ["nut", S, 2, refs]);
    assert.ok(Math.abs(json.score - final.scores[i]!) < 1e-6, `${name} score ${json.score} vs ${final.scores[i]}`);
    assert.ok(Math.abs(json.map_max - Math.max(...final.maps[i]!)) < 1e-6, `${name} map max ${json.map_max}`);
    assert.equal(json.map_scale_max, LAYERS.length);
    assertGreyMatches(await pngGrey(path.join(outDir, `${name}_map.png`)), final.maps[i]!, LAYERS.length, name);
    const overlay = await sharp(path.join(outDir, `${name}_overlay.png`)).metadata();
    assert.deepEqual([overlay.width, overlay.height], [S, S]);
  }
  // Two queries: the min-max normalised maximum is 1 for one and 0 for the other (paper's image score).
  const text = scored.scores;
  const hi = final.maps[0]!.reduce((a, b) => Math.max(a, b)) > final.maps[1]!.reduce((a, b) => Math.max(a, b)) ? 0 : 1;
  assert.ok(Math.abs(final.scores[hi]! - 0.5 * (text[hi]! + 1)) < 1e-6 && Math.abs(final.scores[1 - hi]! - 0.5 * text[1 - hi]!) < 1e-6);
});

test("simclip predict --method patchcore --option backbone=clip --reference-dir uses every image of the folder as memory", async () => {
  const outDir = path.join(tmp, "pred-patchcore");
  const query = path.join(root, "grid/test/good/001.png");
  await cli([
    "predict",
    "--method",
    "patchcore",
    "--option",
    "backbone=clip",
    "--model",
    TINY,
    "--size",
    String(S),
    "--category",
    "grid",
    "--out",
    outDir,
    "--map-max",
    "10",
    "--reference-dir",
    path.join(root, "grid/train/good"),
    query,
  ]);
  const refs = ["000.png", "001.png", "002.png"].map((f) => path.join(root, "grid/train/good", f));
  const pc = new PatchCore(model, { size: S });
  const source = clipFeatureSource(model, { size: S, layers: pc.layers });
  await pc.setMemory("grid", await source.extract(refs));
  const out = await pc.score({ features: await source.extract([query]), categories: ["grid"] });
  const json = JSON.parse(await readFile(path.join(outDir, "001.json"), "utf8"));
  assert.deepEqual([json.shots, json.references], [3, refs]);
  assert.ok(Math.abs(json.score - out.scores[0]!) < 1e-5, `score ${json.score} vs ${out.scores[0]}`);
  assertGreyMatches(await pngGrey(path.join(outDir, "001_map.png")), out.maps[0]!, 10, "patchcore");
});

test("simclip predict: a few-shot method without references, or references for a zero-shot one, say what to pass", async () => {
  const q = path.join(root, "nut/test/good/000.png");
  const base = ["--model", TINY, ...GEOMETRY, "--out", path.join(tmp, "never")];
  await fails(["predict", "--method", "simclip+", ...base, q], /SimCLIP\+: no memory for class "object".*--references IMG\.\.\. or --reference-dir DIR/);
  await fails(["predict", "--method", "simclip", ...base, q, "--references", q], /method "simclip" is zero-shot only: it takes no reference images/);
  await fails(
    ["predict", "--method", "simclip+", ...base, q, "--reference-dir", path.join(tmp, "nowhere")],
    /MissingFileError: .*nowhere: --reference-dir must be a directory/,
  );
});
