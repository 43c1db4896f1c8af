import { test } from "node:test";
import assert from "node:assert/strict";
import { evaluateMethod, type MetricSummary } from "../../../src/models/common/evaluate.js";
import type { AnomalyMethod, FeatureBatch, ImageFeatures, MethodOutput } from "../../../src/models/common/types.js";
import type { Dataset, Sample } from "../../../src/data/sample.js";
import { InvalidArgumentError } from "../../../src/errors.js";

const S = 2;
/** Per test image: its image score and its 2 x 2 map; masks mark pixel 0 of each anomalous image. */
const TEST: Record<string, { label: 0 | 1; score: number; map: number[]; mask: boolean }> = {
  "/a/n1": { label: 0, score: 0.1, map: [0.2, 0.2, 0.2, 0.2], mask: false },
  "/a/n2": { label: 0, score: 0.4, map: [0.2, 0.2, 0.2, 0.2], mask: false },
  "/a/x1": { label: 1, score: 0.3, map: [0.9, 0.1, 0.1, 0.1], mask: true },
  "/a/x2": { label: 1, score: 0.9, map: [0.9, 0.1, 0.1, 0.1], mask: true },
  "/b/n1": { label: 0, score: 0.5, map: [0.5, 0.5, 0.5, 0.5], mask: false },
  "/b/x1": { label: 1, score: 0.6, map: [0.5, 0.5, 0.5, 0.5], mask: false },
};

function sample(p: string, split: "train" | "test"): Sample {
  const t = TEST[p];
  const label = t?.label ?? 0;
  return { imagePath: p, maskPath: t?.mask ? `${p}.mask` : null, label, category: p.split("/")[1]!, defectType: label ? "x" : "good", split };
}

const dataset: Dataset = {
  name: "fake",
  root: "/",
  categories: ["a", "b"],
  samples: [...Object.keys(TEST).map((p) => sample(p, "test")), ...["/a/t1", "/a/t2", "/a/t3", "/b/t1", "/b/t2"].map((p) => sample(p, "train"))],
};

const feats = (p: string): ImageFeatures =>
  ({ patchTokens: new Map(), pooled: Float32Array.of(p.length), grid: 1, width: 1, path: p }) as ImageFeatures & { path: string };

/** Scores and maps from the table; few-shot memory shifts every score by the number of its image whose path ends in "1". */
class TableMethod implements AnomalyMethod {
  readonly name = "table";
  readonly size = S;
  readonly layers = [1];
  memory = new Map<string, string[]>();
  finalized: [string, number][] = [];
  async setMemory(category: string, normals: ImageFeatures[]): Promise<void> {
    this.memory.set(
      category,
      normals.map((f) => (f as ImageFeatures & { path: string }).path),
    );
  }
  finalizeCategory(category: string, out: MethodOutput): MethodOutput {
    this.finalized.push([category, out.maps.length]);
    return out;
  }
  async score(batch: FeatureBatch): Promise<MethodOutput> {
    const paths = batch.features.map((f) => (f as ImageFeatures & { path: string }).path);
    const shift = (c: string) => (this.memory.get(c) ?? []).filter((p) => p.endsWith("1")).length * 0.25;
    return {
      size: S,
      maps: paths.map((p) => Float32Array.from(TEST[p]!.map)),
      scores: Float32Array.from(paths.map((p, i) => (TEST[p]!.label === 1 ? TEST[p]!.score + shift(batch.categories[i]!) : TEST[p]!.score))),
    };
  }
}

const opts = {
  features: { ensure: async () => {}, get: async (p: string) => feats(p) },
  loadMask: async () => Uint8Array.of(1, 0, 0, 0),
  batchSize: 3,
};

test("zero-shot: per-class metrics (hand-computed) and their mean in the eval JSON format", async () => {
  const m = new TableMethod();
  const r = await evaluateMethod(m, dataset, opts);
  assert.equal(r.method, "table");
  assert.equal(r.shots, 0);
  assert.equal(r.seeds, undefined);
  // Class a: anomalous scores 0.3, 0.9 vs normal 0.1, 0.4 -> 3 of 4 pairs ordered: I-AUROC 0.75;
  // every defect pixel (0.9) is above every normal pixel (0.1, 0.2): P-AUROC 1.
  assert.equal(r.per_category.a!.i_auroc, 0.75);
  assert.equal(r.per_category.a!.p_auroc, 1);
  // Class b's anomaly has no mask: image metrics only, pixel metrics NaN with a note.
  assert.equal(r.per_category.b!.i_auroc, 1);
  assert.ok(Number.isNaN(r.per_category.b!.p_auroc as number));
  assert.ok(r.notes?.some((n) => n.startsWith("b p_auroc")));
  assert.equal(r.mean.i_auroc, (0.75 + 1) / 2);
  assert.deepEqual(Object.keys(r.per_category.a!), ["i_auroc", "i_ap", "p_auroc", "p_pro"]);
  assert.deepEqual(m.finalized, [
    ["a", 4],
    ["b", 2],
  ]);
});

test("few-shot: k train normals per class become the memory; several seeds give {mean, std} of the per-seed values", async () => {
  const single = await Promise.all([0, 1, 2].map((s) => evaluateMethod(new TableMethod(), dataset, { ...opts, shots: 1, seeds: [s] })));
  const m = new TableMethod();
  const r = await evaluateMethod(m, dataset, { ...opts, shots: 1, seeds: [0, 1, 2] });
  assert.deepEqual(r.seeds, [0, 1, 2]);
  for (const c of ["a", "b"]) assert.ok(dataset.samples.some((s) => s.imagePath === m.memory.get(c)![0] && s.split === "train" && s.category === c));
  const values = single.map((x) => x.per_category.a!.i_auroc as number);
  const mean = values.reduce((x, y) => x + y) / 3;
  const got = r.per_category.a!.i_auroc as MetricSummary;
  assert.ok(Math.abs(got.mean - mean) < 1e-12);
  assert.ok(Math.abs(got.std - Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / 3)) < 1e-12);
  const zeroShotOnly: AnomalyMethod = { name: "zs", size: S, layers: [1], score: new TableMethod().score };
  await assert.rejects(evaluateMethod(zeroShotOnly, dataset, { ...opts, shots: 1 }), InvalidArgumentError);
  await assert.rejects(evaluateMethod(new TableMethod(), dataset, { ...opts, categories: ["zzz"] }), InvalidArgumentError);
});
