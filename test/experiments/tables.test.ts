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
  ExperimentContext,
  experimentSetupFrom,
  table1,
  table2,
  table2Rows,
  table3,
  table4,
  table5,
  table6,
  figure5,
  heatmapFigure,
  CROSS_DATASET_DIRECTIONS,
  FIGURE_JOBS,
  TABLE2_BACKBONE_ROW,
  type CrossDatasetDirection,
  type ExperimentSetup,
  type ExperimentTable,
} from "../../src/experiments/index.js";
import sharp from "sharp";
import { HEATMAP_LABEL_WIDTH, HEATMAP_TITLE_HEIGHT } from "../../src/viz/heatmap-grid.js";
import { PAPER_TABLES } from "../../src/experiments/paper-tables.js";
import { loadCheckpoint } from "../../src/models/common/checkpoint.js";
import { createMethod } from "../../src/models/registry.js";
import type { AnomalyMethod } from "../../src/models/common/types.js";
import { promptLearningComplexity } from "../../src/models/complexity.js";
import type { PromptLearnerBackbone } from "../../src/models/coop/model.js";
import type { SimClipConfig } from "../../src/models/simclip/config.js";
import type { SimClip } from "../../src/models/simclip/model.js";
import { createSimClipPlusMethod } from "../../src/models/simclip-plus/factory.js";
import { demoArchConfig } from "../../src/clip/demo-model.js";
import { loadMask } from "../../src/clip/preprocess.js";
import { ClipTokenizer } from "../../src/clip/tokenizer.js";
import { clipWeightShapes } from "../../src/clip/weight-names.js";
import { sampleFewShot } from "../../src/data/few-shot.js";

const root = path.resolve(import.meta.dirname, "../..");

/**
 * Table 2 of the quick setup as [method, multiply-accumulates, parameters]: a function of the tiny
 * demo backbone's shapes at 64 px with 4 hooked blocks, so exact.
 */
const TABLE2_QUICK: [string, number, number][] = [
  ["CoOp", 76_283_008, 4_117_441],
  ["Co-CoOp", 76_283_200, 4_116_931],
  ["IPT", 76_311_296, 4_135_258],
  ["CLIP backbone alone (frozen)", 75_209_856, 4_099_905],
];

let dir: string;
let setup: ExperimentSetup;
let ctx: ExperimentContext;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "simclip-exp-"));
  setup = experimentSetupFrom({
    backbone: { kind: "demo" },
    mvtec: { kind: "synthetic" },
    visa: { kind: "synthetic" },
    quick: true,
    configFile: null,
    cacheDir: dir,
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
  assert.deepEqual(
    t.rows.map((r) => r.key),
    expectedKeys,
  );
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
    { setup: "0-shot", method: "CLIP-AC" },
    { setup: "0-shot", method: "APRIL-GAN" },
    { setup: "0-shot", method: "AnomalyCLIP" },
    { setup: "0-shot", method: "SimCLIP" },
    { setup: "1-shot", method: "PatchCore" },
    { setup: "1-shot", method: "APRIL-GAN" },
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
    per.push(
      bruteAuroc(
        samples.map((s) => s.label),
        Array.from(out.scores),
      ),
    );
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

/** ViT-L/14-336's shapes without its weights: what Table 2 counts is a function of the shapes alone. */
async function vitL336Shapes(): Promise<PromptLearnerBackbone> {
  const config = demoArchConfig("ViT-L-14-336");
  // The towers' blocks are only counted; the other tensors seed the prompt modules' initial values.
  const weights = new Map(
    [...clipWeightShapes(config)].map(([name, shape]) => [
      name,
      { shape, data: new Float32Array(name.includes("resblocks") ? 0 : shape.reduce((a, b) => a * b, 1)) },
    ]),
  );
  return {
    config,
    weights,
    fingerprint: "vit-l-14-336-shapes",
    tokenizer: await ClipTokenizer.fromDir(path.join(root, "assets", "clip-bpe")),
    encodeText: () => Promise.reject(new Error("not needed")),
  };
}

test("table2 on the paper's shapes (ViT-L/14-336 at 518 px, layers 6/12/18/24): CLIP's published size, the paper's FLOPs for the towers", async () => {
  const rows = table2Rows(await promptLearningComplexity(await vitL336Shapes(), { size: 518, layers: [6, 12, 18, 24] }));
  const cell = (method: string, metric: string) => rows.find((r) => r.key.method === method)!.values[metric]!;
  // OpenAI's ViT-L/14@336px has 427,944,193 parameters.
  assert.equal(Math.round(cell(TABLE2_BACKBONE_ROW, "Params(M)") * 1e6), 427_944_193);
  // Its towers at 518 px (37 x 37 patches + class token, 24 blocks of width 1024) and on two 77-token
  // prompts (12 blocks of width 768): 520.10 G multiply-accumulates, the paper's 520.46 for CoOp to 0.07 %.
  const block = (t: number, w: number) => 12 * t * w * w + 2 * t * t * w;
  const vision = 37 * 37 * 3 * 14 * 14 * 1024 + 24 * block(1370, 1024) + 1024 * 768;
  const text = 2 * (12 * block(77, 768) + 77 * 768 + 768 * 768);
  assert.ok(Math.abs(cell(TABLE2_BACKBONE_ROW, "FLOPs(G)") - (vision + text) / 1e9) < 1e-9);
  assert.equal(Number(cell(TABLE2_BACKBONE_ROW, "FLOPs(G)").toFixed(2)), 520.1);
  assert.ok(Math.abs(cell(TABLE2_BACKBONE_ROW, "FLOPs(G)") / 520.46 - 1) < 0.001);
  // Each method adds the four adapters (1024 -> 768 with bias) and its prompt module: CoOp 16 context
  // vectors of 768, Co-CoOp 4 and its meta-net 768 -> 48 -> 768; IPT its token weighting 77 + 1, P_s 8,
  // MLP 8 -> 256 -> 768 and mixing 2 + 1.
  const adapters = 4 * (1024 * 768 + 768);
  assert.equal(Math.round(cell("CoOp", "Params(M)") * 1e6), 427_944_193 + adapters + 16 * 768);
  assert.equal(Math.round(cell("Co-CoOp", "Params(M)") * 1e6), 427_944_193 + adapters + 4 * 768 + (768 * 48 + 48) + (48 * 768 + 768));
  assert.equal(Math.round(cell("IPT", "Params(M)") * 1e6), 427_944_193 + adapters + 78 + 8 + (8 * 256 + 256) + (256 * 768 + 768) + 3);
  assert.deepEqual(
    rows.map((r) => [r.key.method, Number(r.values["FLOPs(G)"]!.toFixed(4)), Number(r.values["Params(M)"]!.toFixed(4))]),
    [
      ["CoOp", 524.4213, 431.1053],
      ["Co-CoOp", 524.4214, 431.1706],
      ["IPT", 524.4216, 431.2928],
      [TABLE2_BACKBONE_ROW, 520.1044, 427.9442],
    ],
  );
});

test("table2 on the quick setup: the counts of the tiny demo backbone at 64 px, and the rows made from them", async () => {
  const t = await table2(ctx);
  assert.deepEqual(
    t.rows.map((r) => r.key.method),
    ["CoOp", "Co-CoOp", "IPT", TABLE2_BACKBONE_ROW],
  );
  const backbone = [...ctx.model.weights.values()].reduce((n, w) => n + w.data.length, 0);
  assert.equal(Math.round(t.rows[3]!.values["Params(M)"]! * 1e6), backbone);
  assert.deepEqual(t.rows, table2Rows(t.complexity));
  assert.deepEqual(
    t.rows.map((r) => [r.key.method, Math.round(r.values["FLOPs(G)"]! * 1e9), Math.round(r.values["Params(M)"]! * 1e6)]),
    TABLE2_QUICK,
  );
});

/** Macro means over `which`'s classes of image and pixel AUROC, by brute force from `method`'s outputs. */
async function bruteMeans(
  method: AnomalyMethod,
  which: "mvtec" | "visa",
  memory?: { shots: number; seed: number },
): Promise<Record<"I-AUR" | "P-AUR", number>> {
  const data = await ctx.dataset(which);
  const features = await ctx.features();
  await method.prepare?.(data.categories);
  const image: number[] = [];
  const pixel: number[] = [];
  for (const c of data.categories) {
    const samples = data.samples.filter((s) => s.split === "test" && s.category === c);
    if (memory) {
      const refs = sampleFewShot(data.samples, c, memory.shots, memory.seed);
      await features.ensure(refs.map((r) => r.imagePath));
      await method.setMemory!(c, await Promise.all(refs.map((r) => features.get(r.imagePath))));
    }
    let out = await method.score({ features: await Promise.all(samples.map((s) => features.get(s.imagePath))), categories: samples.map(() => c) });
    if (method.finalizeCategory) out = method.finalizeCategory(c, out);
    image.push(
      bruteAuroc(
        samples.map((s) => s.label),
        Array.from(out.scores),
      ),
    );
    const labels: number[] = [];
    const scores: number[] = [];
    for (const [i, s] of samples.entries()) {
      const mask = s.maskPath === null ? new Uint8Array(out.size * out.size) : await loadMask(s.maskPath, out.size);
      mask.forEach((m, j) => {
        labels.push(m);
        scores.push(out.maps[i]![j]!);
      });
    }
    pixel.push(bruteAuroc(labels, scores));
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return { "I-AUR": mean(image), "P-AUR": mean(pixel) };
}

const close = (a: number | null | undefined, b: number, what: string) =>
  assert.ok(a !== null && a !== undefined && Math.abs(a - b) < 1e-9, `${what}: table ${a}, recomputed ${b}`);
const row = (t: ExperimentTable, key: Record<string, string>) => t.rows.find((r) => Object.entries(key).every(([k, v]) => r.key[k] === v))!;

test("tables 3-6: the ablation rows of the paper, with values recomputed from the trained methods' outputs", async () => {
  const visa = CROSS_DATASET_DIRECTIONS[0]!;
  const mvtec = CROSS_DATASET_DIRECTIONS[1]!;
  const t1 = await table1(ctx, { methods: ["simclip", "simclip+"] });
  const zeroShot = row(t1, { setup: "0-shot", method: "SimCLIP" });
  const trainedAs = async (name: string, direction: CrossDatasetDirection, opts: { simclip?: Partial<SimClipConfig>; layers?: number[] } = {}) => {
    const t = await ctx.trained(name, direction, opts);
    return t.method;
  };

  const t3 = await table3(ctx);
  assertWellFormed(t3, [
    { MHVA: "", IPT: "" },
    { MHVA: "✓", IPT: "" },
    { MHVA: "", IPT: "✓" },
    { MHVA: "✓", IPT: "✓" },
  ]);
  const mhvaOnly = await trainedAs("simclip", visa, { simclip: { mhva: true, ipt: false } });
  const m3 = await bruteMeans(mhvaOnly, "visa");
  mhvaOnly.dispose?.();
  close(row(t3, { MHVA: "✓", IPT: "" }).values["I-AUR"], m3["I-AUR"], "Table 3 MHVA only, I-AUR");
  close(row(t3, { MHVA: "✓", IPT: "" }).values["P-AUR"], m3["P-AUR"], "Table 3 MHVA only, P-AUR");
  // The full model is Table 1's SimCLIP, trained once.
  for (const m of ["P-AUR", "P-PRO", "I-AUR", "I-AP"])
    assert.equal(row(t3, { MHVA: "✓", IPT: "✓" }).values[m], zeroShot.values[`VisA ${m}`], `Table 3 full ${m}`);

  const t4 = await table4(ctx);
  assertWellFormed(
    t4,
    ["VisA", "MVTec"].flatMap((dataset) => ["CoOp", "Co-CoOp", "IPT"].map((method) => ({ dataset, method }))),
  );
  const coop = await trainedAs("coop", mvtec);
  const m4 = await bruteMeans(coop, "mvtec");
  coop.dispose?.();
  close(row(t4, { dataset: "MVTec", method: "CoOp" }).values["I-AUR"], m4["I-AUR"], "Table 4 MVTec CoOp, I-AUR");
  close(row(t4, { dataset: "MVTec", method: "CoOp" }).values["P-AUR"], m4["P-AUR"], "Table 4 MVTec CoOp, P-AUR");
  for (const d of ["VisA", "MVTec"]) {
    for (const m of ["P-AUR", "P-PRO", "I-AUR", "I-AP"])
      assert.equal(row(t4, { dataset: d, method: "IPT" }).values[m], zeroShot.values[`${d} ${m}`], `Table 4 ${d} IPT ${m}`);
  }

  const t5 = await table5(ctx);
  assertWellFormed(t5, [...ctx.layers.map((l, i) => ({ hierarchy: `${i + 1} (layer ${l})` })), { hierarchy: "all" }]);
  for (const r of t5.rows) assert.deepEqual(Object.keys(r.values).sort(), ["P-AUR", "P-PRO"]);
  const first = await trainedAs("simclip", visa, { layers: [ctx.layers[0]!] });
  const m5 = await bruteMeans(first, "visa");
  first.dispose?.();
  close(t5.rows[0]!.values["P-AUR"], m5["P-AUR"], "Table 5 first layer, P-AUR");
  assert.deepEqual(t5.rows.at(-1)!.values, { "P-AUR": zeroShot.values["VisA P-AUR"], "P-PRO": zeroShot.values["VisA P-PRO"] });

  const t6 = await table6(ctx);
  assertWellFormed(t6, [
    { FD: "✓", PAO: "" },
    { FD: "", PAO: "✓" },
    { FD: "✓", PAO: "✓" },
  ]);
  for (const r of t6.rows) assert.deepEqual(Object.keys(r.values).sort(), ["1-shot I-AUR", "1-shot P-AUR"]);
  const simclip = await ctx.trained("simclip", visa);
  simclip.method.dispose?.();
  const fdOnly = await createSimClipPlusMethod({ backbone: ctx.model, checkpoint: await loadCheckpoint(simclip.checkpointDir) }, { fd: true, pao: false });
  const m6 = await bruteMeans(fdOnly, "visa", { shots: 1, seed: 0 });
  fdOnly.dispose?.();
  close(row(t6, { FD: "✓", PAO: "" }).values["1-shot I-AUR"], m6["I-AUR"], "Table 6 FD only, I-AUR");
  close(row(t6, { FD: "✓", PAO: "" }).values["1-shot P-AUR"], m6["P-AUR"], "Table 6 FD only, P-AUR");
  // FD + PAO is SimCLIP+ as Table 1 runs it.
  const plus = row(t1, { setup: "1-shot", method: "SimCLIP+" });
  assert.deepEqual(row(t6, { FD: "✓", PAO: "✓" }).values, { "1-shot P-AUR": plus.values["VisA P-AUR"], "1-shot I-AUR": plus.values["VisA I-AUR"] });
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
    assert.ok(
      r.mask?.some((v) => v === 1),
      "rows show anomalous images with their masks",
    );
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
  // The prompts "a photo of a bottle without / with defect." are SimCLIP's own: their original features
  // are CLIP's text embeddings, their refined ones what the trained SimCLIP scores with.
  const own = ["a photo of a bottle without defect.", "a photo of a bottle with defect."].map((text) => f.prompts.findIndex((p) => p.text === text));
  const clipText = await ctx.model.encodeText(own.map((i) => f.prompts[i]!.text));
  const trained = await ctx.trained("simclip", CROSS_DATASET_DIRECTIONS[0]!);
  const simclip = trained.method as SimClip;
  await simclip.prepare(["bottle"]);
  const refined = simclip.promptEmbeddings(["bottle"]).refined;
  const scored = refined.dataSync() as Float32Array;
  refined.dispose();
  simclip.dispose();
  own.forEach((p, k) => {
    const original = clipText.textEmbeds.subarray(k * f.dim, (k + 1) * f.dim);
    const norm = Math.hypot(...original);
    for (let j = 0; j < f.dim; j++) {
      assert.ok(Math.abs(f.original[p * f.dim + j]! - original[j]! / norm) < 1e-6, `original feature ${k}[${j}]`);
      assert.ok(Math.abs(f.refined[p * f.dim + j]! - scored[k * f.dim + j]!) < 1e-5, `refined feature ${k}[${j}]`);
    }
  });
  // Per-class centroid cosines, recomputed here for one class.
  const centroid = (features: Float32Array, kind: string) => {
    const rows = f.prompts.flatMap((p, i) => (p.group === "cable" && p.kind === kind ? [i] : []));
    return Array.from({ length: f.dim }, (_, j) => rows.reduce((a, i) => a + features[i * f.dim + j]!, 0) / rows.length);
  };
  const cos = (a: number[], b: number[]) => a.reduce((s, v, j) => s + v * b[j]!, 0) / Math.hypot(...a) / Math.hypot(...b);
  const cable = f.stateCosines.find((c) => c.class === "cable")!;
  assert.ok(Math.abs(cable.original - cos(centroid(f.original, "normal"), centroid(f.original, "anomalous"))) < 1e-9);
  assert.ok(Math.abs(cable.refined - cos(centroid(f.refined, "normal"), centroid(f.refined, "anomalous"))) < 1e-9);
  assert.deepEqual(
    f.stateCosines.map((c) => c.class),
    ["bottle", "cable", "capsule", "carpet"],
  );
});

test("figure jobs of `simclip figures`: Figures 2, 4 and 5(b) as images of the layout's size", async () => {
  const out = path.join(dir, "figures");
  const [fig2] = await FIGURE_JOBS["figure2-maps"]!.run(setup.config, out);
  const [fig4] = await FIGURE_JOBS["figure4-maps"]!.run(setup.config, out);
  const fig5 = await FIGURE_JOBS["figure5b-prompt-tsne"]!.run(setup.config, out);
  // One row per class of both quick sets (2 + 2), 64 px cells 4 px apart: image, truth, then the maps.
  const height = HEATMAP_TITLE_HEIGHT + 4 * 64 + 3 * 4;
  const m2 = await sharp(fig2!).metadata();
  assert.deepEqual([m2.format, m2.width, m2.height], ["png", HEATMAP_LABEL_WIDTH + 3 * 64 + 2 * 4, height]);
  const m4 = await sharp(fig4!).metadata();
  assert.deepEqual([m4.format, m4.width, m4.height], ["png", HEATMAP_LABEL_WIDTH + 4 * 64 + 3 * 4, height]);
  assert.deepEqual(
    fig5.map((f) => path.basename(f)),
    ["figure5b-prompt-tsne.svg", "figure5b-prompt-tsne.png"],
  );
  const m5 = await sharp(fig5[1]!).metadata();
  assert.deepEqual([m5.format, m5.width, m5.height], ["png", 640, 480]);
});
