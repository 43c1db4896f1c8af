/**
 * The paper-artefact experiments on the quick setup (tiny demo backbone, 64 px synthetic sets of two
 * classes each): tables are well formed against the paper's layout, and their numbers are the shared
 * evaluation code's, checked against a brute-force image AUROC recomputed from the methods' scores.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ExperimentContext, experimentSetupFrom, table1, table2, table3, table4, table5, table6, figure5, heatmapFigure, CROSS_DATASET_DIRECTIONS,
  EXPERIMENT_FIGURE_JOBS, type ExperimentSetup, type ExperimentTable,
} from "../../src/experiments/index.js";
import sharp from "sharp";
import { HEATMAP_LABEL_WIDTH, HEATMAP_TITLE_HEIGHT } from "../../src/viz/heatmap-grid.js";
import { PAPER_TABLES } from "../../src/notebook/paper-tables.js";
import { loadCheckpoint } from "../../src/models/common/checkpoint.js";
import { createMethod } from "../../src/models/registry.js";

let dir: string;
let setup: ExperimentSetup;
let ctx: ExperimentContext;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "simclip-exp-"));
  setup = experimentSetupFrom({
    backbone: { kind: "demo" }, mvtec: { kind: "synthetic" }, visa: { kind: "synthetic" }, quick: true, configFile: null, cacheDir: dir,
  });
  ctx = await ExperimentContext.open(setup);
});

after(async () => {
  await ctx.dispose();
  await rm(dir, { recursive: true, force: true });
});

function assertWellFormed(t: ExperimentTable, expectedKeys: Record<string, string>[]): void {
  const paper = PAPER_TABLES[t.id];
  assert.equal(t.synthetic, true);
  assert.match(t.setup, /SYNTHETIC SETUP/);
  assert.deepEqual(t.rows.map((r) => r.key), expectedKeys);
  for (const r of t.rows) {
    for (const [m, v] of Object.entries(r.values)) {
      assert.ok(paper.metrics.includes(m), `${m} is a ${t.id} column`);
      assert.ok(v === null || (v >= 0 && v <= 1), `${t.id} ${JSON.stringify(r.key)} ${m} = ${v} in [0, 1]`);
    }
  }
}

/** Mann-Whitney image AUROC by counting pairs (ties count half): independent of src/metrics. */
function bruteAuroc(labels: number[], scores: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

test("table1: both directions, zero- and 1-shot rows, values from the evaluation runner", async () => {
  const t = await table1(ctx);
  assertWellFormed(t, [
    { setup: "0-shot", method: "CLIP-AC" }, { setup: "0-shot", method: "APRIL-GAN" }, { setup: "0-shot", method: "AnomalyCLIP" },
    { setup: "0-shot", method: "SimCLIP" }, { setup: "1-shot", method: "PatchCore" }, { setup: "1-shot", method: "APRIL-GAN" },
    { setup: "1-shot", method: "SimCLIP+" },
  ]);
  for (const r of t.rows) assert.equal(Object.keys(r.values).length, 8, `${JSON.stringify(r.key)} has VisA and MVTec columns`);

  // Recompute SimCLIP's zero-shot VisA image AUROC from its trained checkpoint's scores, per class, then the mean.
  const trained = await ctx.trained("simclip", CROSS_DATASET_DIRECTIONS[0]!);
  const method = await createMethod("simclip", { backbone: ctx.model, checkpoint: await loadCheckpoint(trained.checkpointDir) });
  trained.method.dispose?.();
  const visa = await ctx.dataset("visa");
  const features = await ctx.features();
  const per: number[] = [];
  for (const c of visa.categories) {
    const samples = visa.samples.filter((s) => s.split === "test" && s.category === c);
    const out = await method.score({ features: await Promise.all(samples.map((s) => features.get(s.imagePath))), categories: samples.map(() => c) });
    per.push(bruteAuroc(samples.map((s) => s.label), Array.from(out.scores)));
  }
  method.dispose?.();
  const simclip = t.rows.find((r) => r.key.method === "SimCLIP")!;
  assert.ok(Math.abs(simclip.values["VisA I-AUR"]! - per.reduce((a, b) => a + b, 0) / per.length) < 1e-9);
});

test("trained checkpoints are reused: a second table1 run trains nothing and gives the same numbers", async () => {
  const first = await ctx.trained("simclip", CROSS_DATASET_DIRECTIONS[0]!);
  first.method.dispose?.();
  const mtime = (await stat(path.join(first.checkpointDir, "history.json"))).mtimeMs;
  const a = await table1(ctx, { methods: ["simclip"] });
  const b = await table1(ctx, { methods: ["simclip"] });
  assert.deepEqual(a.rows, b.rows);
  assert.equal((await stat(path.join(first.checkpointDir, "history.json"))).mtimeMs, mtime);
});

test("table2: IPT, CoOp and Co-CoOp counts on the backbone", async () => {
  const t = await table2(ctx);
  assert.deepEqual(t.rows.map((r) => r.key.method), ["CoOp", "Co-CoOp", "IPT"]);
  const backbone = [...ctx.model.weights.values()].reduce((n, w) => n + w.data.length, 0);
  for (const r of t.rows) {
    assert.ok(r.values["Params(M)"]! * 1e6 > backbone, "whole model = frozen backbone + the prompt module");
    assert.ok(r.values["FLOPs(G)"]! > 0);
  }
});

test("tables 3-6: the ablation rows of the paper, in its layout", async () => {
  assertWellFormed(await table3(ctx), [{ MHVA: "", IPT: "" }, { MHVA: "✓", IPT: "" }, { MHVA: "", IPT: "✓" }, { MHVA: "✓", IPT: "✓" }]);
  assertWellFormed(await table4(ctx), ["VisA", "MVTec"].flatMap((dataset) => ["CoOp", "Co-CoOp", "IPT"].map((method) => ({ dataset, method }))));
  const t5 = await table5(ctx);
  assertWellFormed(t5, [...ctx.layers.map((l, i) => ({ hierarchy: `${i + 1} (layer ${l})` })), { hierarchy: "all" }]);
  for (const r of t5.rows) assert.deepEqual(Object.keys(r.values).sort(), ["P-AUR", "P-PRO"]);
  const t6 = await table6(ctx);
  assertWellFormed(t6, [{ FD: "✓", PAO: "" }, { FD: "", PAO: "✓" }, { FD: "✓", PAO: "✓" }]);
  for (const r of t6.rows) assert.deepEqual(Object.keys(r.values).sort(), ["1-shot I-AUR", "1-shot P-AUR"]);
  // Table 3's full model and Table 5's "all" are Table 1's SimCLIP run: one checkpoint, the same numbers.
  const t1 = await table1(ctx, { methods: ["simclip"], directions: [CROSS_DATASET_DIRECTIONS[0]!] });
  assert.equal(t5.rows.at(-1)!.values["P-AUR"], t1.rows[0]!.values["VisA P-AUR"]);
});

test("figure data: heatmap rows at the map size, prompt features for t-SNE", async () => {
  const h = await heatmapFigure(ctx);
  const visa = await ctx.dataset("visa");
  const mvtec = await ctx.dataset("mvtec");
  assert.equal(h.rows.length, visa.categories.length + mvtec.categories.length);
  assert.deepEqual(h.mapLabels, ["SimCLIP (0-shot)", "SimCLIP+ (1-shot)"]);
  for (const r of h.rows) {
    assert.equal(r.image.width, ctx.size);
    assert.equal(r.maps.length, 2);
    for (const m of r.maps) assert.equal(m.length, ctx.size * ctx.size);
    assert.ok(r.mask !== null && r.mask.some((v) => v === 1), "rows show anomalous images with their masks");
  }
  const f = await figure5(ctx, { tsneIterations: 50 });
  const n = f.prompts.length;
  assert.equal(n, 4 * 12);
  assert.equal(f.original.length, n * f.dim);
  assert.equal(f.refined.length, n * f.dim);
  assert.equal(f.refinedXY!.length, n);
  for (let i = 0; i < n; i++) {
    const norm = Math.hypot(...f.refined.subarray(i * f.dim, (i + 1) * f.dim));
    assert.ok(Math.abs(norm - 1) < 1e-5);
  }
  assert.ok(f.refined.some((v, i) => Math.abs(v - f.original[i]!) > 1e-3), "IPT and the trained projection change the features");
});

test("figure jobs of `simclip figures`: Figures 2, 4 and 5(b) as images of the layout's size", async () => {
  const out = path.join(dir, "figures");
  const [fig2] = await EXPERIMENT_FIGURE_JOBS["figure2-maps"]!.run(setup.config, out);
  const [fig4] = await EXPERIMENT_FIGURE_JOBS["figure4-maps"]!.run(setup.config, out);
  const fig5 = await EXPERIMENT_FIGURE_JOBS["figure5b-prompt-tsne"]!.run(setup.config, out);
  // One row per class of both quick sets (2 + 2), 64 px cells 4 px apart: image, truth, then the maps.
  const height = HEATMAP_TITLE_HEIGHT + 4 * 64 + 3 * 4;
  const m2 = await sharp(fig2!).metadata();
  assert.deepEqual([m2.format, m2.width, m2.height], ["png", HEATMAP_LABEL_WIDTH + 3 * 64 + 2 * 4, height]);
  const m4 = await sharp(fig4!).metadata();
  assert.deepEqual([m4.format, m4.width, m4.height], ["png", HEATMAP_LABEL_WIDTH + 4 * 64 + 3 * 4, height]);
  assert.deepEqual(fig5.map((f) => path.basename(f)), ["figure5b-prompt-tsne.svg", "figure5b-prompt-tsne.png"]);
  const m5 = await sharp(fig5[1]!).metadata();
  assert.deepEqual([m5.format, m5.width, m5.height], ["png", 640, 480]);
});
