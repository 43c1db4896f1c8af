/**
 * The zero-shot command-line path end to end (`simclip train` -> `simclip eval --checkpoint` ->
 * `simclip predict`) and `simclip eval --method NAME` for the untrained baselines, each checked against
 * the same computation done through the library, on the tiny random CLIP of test/fixtures/clip-tiny
 * and small synthetic sets in both real layouts.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ClipModel } from "../../src/clip/model.js";
import { generateSynth } from "../../src/data/index.js";
import { loadSimClip } from "../../src/models/simclip/factory.js";
import { predictImages } from "../../src/models/common/predict.js";
import { runRegisteredMethod } from "../../src/models/run.js";
import type { EvaluationResults } from "../../src/models/common/evaluate.js";

const run = promisify(execFile);
const MAIN = path.join(import.meta.dirname, "../../src/cli/main.ts");
const TINY = path.join(import.meta.dirname, "../fixtures/clip-tiny");
const S = 64;
const LAYERS = [1, 2, 3, 4];
let tmp: string;
let trainRoot: string;
let testRoot: string;
let model: ClipModel;

const cli = (args: string[]) =>
  run(process.execPath, ["--import", "tsx", MAIN, ...args], { env: { ...process.env, SIMCLIP_QUIET: "1", SIMCLIP_CACHE_DIR: path.join(tmp, "cache") } });
const cacheDir = () => path.join(tmp, "cache", "features");
const readResults = async (file: string) => JSON.parse(await readFile(file, "utf8")) as EvaluationResults;

function assertSameMeans(got: EvaluationResults, want: EvaluationResults, what: string): void {
  assert.deepEqual(Object.keys(got.per_category).sort(), Object.keys(want.per_category).sort(), what);
  for (const [metric, v] of Object.entries(want.mean)) {
    const g = got.mean[metric as keyof typeof got.mean];
    // JSON writes an undefined metric (NaN, e.g. PRO with too few kept thresholds on 4 tiny images) as null.
    if (Number.isNaN(v)) {
      assert.equal(g, null, `${what} ${metric}: library NaN, cli ${g}`);
      continue;
    }
    assert.ok(typeof v === "number" && typeof g === "number" && Math.abs(g - v) < 1e-12, `${what} ${metric}: cli ${g}, library ${v}`);
    assert.ok(v >= 0 && v <= 1, `${what} ${metric} = ${v} is not in [0, 1]`);
  }
  for (const metric of ["i_auroc", "p_auroc"] as const) assert.ok(Number.isFinite(want.mean[metric]), `${what} ${metric} is defined`);
}

before(async () => {
  process.env.SIMCLIP_QUIET = "1";
  tmp = await mkdtemp(path.join(os.tmpdir(), "simclip-zero-shot-cli-"));
  trainRoot = path.join(tmp, "A");
  testRoot = path.join(tmp, "B");
  const counts = { size: S, trainCount: 2, testGoodCount: 2, testAnomalousCount: 2 };
  await generateSynth({ out: trainRoot, layout: "mvtec", seed: 0, categories: ["screw", "wood"], ...counts });
  await generateSynth({ out: testRoot, layout: "visa", seed: 1, categories: ["nut", "grid"], ...counts });
  model = await ClipModel.load(TINY);
});

after(async () => {
  await model.dispose();
  await rm(tmp, { recursive: true, force: true });
});

test("simclip train -> eval --checkpoint -> predict equals the library on the saved checkpoint", async () => {
  const ckpt = path.join(tmp, "ckpt");
  await cli([
    "train",
    "--model",
    TINY,
    "--train",
    `mvtec:${trainRoot}`,
    "--out",
    ckpt,
    "--size",
    String(S),
    "--layers",
    LAYERS.join(","),
    "--epochs",
    "2",
    "--batch",
    "4",
  ]);
  for (const f of ["config.json", "weights.safetensors", "history.json"]) assert.ok((await stat(path.join(ckpt, f))).size > 0, `${f} written`);
  const history = JSON.parse(await readFile(path.join(ckpt, "history.json"), "utf8")) as { epochLoss: number[] };
  assert.equal(history.epochLoss.length, 2);

  const out = path.join(tmp, "eval.json");
  await cli(["eval", "--method", "simclip", "--model", TINY, "--checkpoint", ckpt, "--dataset", `visa:${testRoot}`, "--out", out]);
  const got = await readResults(out);
  assert.equal(got.method, "simclip");
  assert.equal(got.shots, 0);
  const lib = await runRegisteredMethod("simclip", { model, checkpoint: ckpt, dataset: `visa:${testRoot}`, cacheDir: cacheDir() });
  assertSameMeans(got, lib.results!, "simclip eval");
  lib.method.dispose?.();

  const image = path.join(testRoot, "nut", "Data", "Images", "Anomaly");
  const query = path.join(image, (await readdir(image)).sort()[0]!);
  const predDir = path.join(tmp, "pred");
  await cli(["predict", "--model", TINY, "--checkpoint", ckpt, "--category", "nut", "--out", predDir, query]);
  const name = path.basename(query, path.extname(query));
  const written = JSON.parse(await readFile(path.join(predDir, `${name}.json`), "utf8")) as { score: number };
  for (const f of [`${name}_map.png`, `${name}_overlay.png`]) assert.ok((await stat(path.join(predDir, f))).size > 0, `${f} written`);
  const simclip = await loadSimClip(model, ckpt);
  const [p] = await predictImages(simclip, model, [query], "nut");
  assert.ok(Math.abs(written.score - p!.score) < 1e-6, `predict score: cli ${written.score}, library ${p!.score}`);
  simclip.dispose();
});

test("simclip eval --method NAME runs the untrained baselines in the results format, equal to the library call", async () => {
  // PatchCore on the CLIP features (its WideResNet default needs weights this tiny CLIP does not imply).
  const cases: { name: string; args: string[]; shots: number; options?: Record<string, string> }[] = [
    { name: "clip-ac", args: [], shots: 0 },
    { name: "april-gan", args: [], shots: 0 },
    { name: "patchcore", args: ["--shots", "1", "--seeds", "1", "--option", "backbone=clip"], shots: 1, options: { backbone: "clip" } },
  ];
  for (const c of cases) {
    const out = path.join(tmp, `${c.name}.json`);
    await cli([
      "eval",
      "--method",
      c.name,
      "--model",
      TINY,
      "--dataset",
      `visa:${testRoot}`,
      "--size",
      String(S),
      "--layers",
      LAYERS.join(","),
      "--out",
      out,
      ...c.args,
    ]);
    const got = await readResults(out);
    assert.equal(got.method, c.name);
    assert.equal(got.shots, c.shots);
    const lib = await runRegisteredMethod(c.name, {
      model,
      dataset: `visa:${testRoot}`,
      size: S,
      layers: LAYERS,
      cacheDir: cacheDir(),
      ...(c.shots > 0 ? { shots: c.shots, seeds: [0] } : {}),
      ...(c.options ? { options: c.options } : {}),
    });
    const want = lib.results!;
    if (c.shots === 0) assertSameMeans(got, want, c.name);
    else {
      for (const [metric, v] of Object.entries(want.mean)) {
        const g = (got.mean as Record<string, unknown>)[metric];
        const gv = typeof g === "number" ? g : (g as { mean: number }).mean;
        const wv = typeof v === "number" ? v : (v as { mean: number }).mean;
        assert.ok(Math.abs(gv - wv) < 1e-12, `${c.name} ${metric}: cli ${gv}, library ${wv}`);
      }
    }
    lib.method.dispose?.();
  }
});

test("simclip train-baseline trains with the method's released recipe for the training set (APRIL-GAN on MVTec: 3 epochs, mosaic 0.2); flags replace single fields", async () => {
  const released = path.join(tmp, "april-released");
  const cache = path.join(tmp, "tb-cache");
  const common = [
    "train-baseline",
    "--method",
    "april-gan",
    "--model",
    TINY,
    "--train",
    `mvtec:${trainRoot}`,
    "--size",
    String(S),
    "--layers",
    LAYERS.join(","),
    "--cache",
    cache,
  ];
  await cli([...common, "--out", released]);
  const history = JSON.parse(await readFile(path.join(released, "history.json"), "utf8")) as { epochLoss: number[]; lr: number[] };
  assert.equal(history.epochLoss.length, 3, "train.sh: 3 epochs on MVTec");
  // 4 test images of 2 classes, rate 0.2 over 3 epochs: the seeded plan draws at least one mosaic.
  const mosaics = await readdir(path.join(cache, "mosaics"), { recursive: true });
  assert.ok(
    mosaics.some((f) => String(f).endsWith(".png")),
    `mosaics written: ${mosaics.join(", ")}`,
  );

  const short = path.join(tmp, "april-short");
  await cli([...common, "--out", short, "--epochs", "1", "--mosaic", "0"]);
  const h1 = JSON.parse(await readFile(path.join(short, "history.json"), "utf8")) as { epochLoss: number[] };
  assert.equal(h1.epochLoss.length, 1);
  await assert.rejects(cli([...common, "--out", short, "--mosaic", "1.5"]), /--mosaic must be a probability in \[0, 1\]; got "1.5"/);
});
