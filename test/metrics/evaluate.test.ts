import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CategoryEvaluator, evaluatePerCategory, formatMetricTable, MetricInputError, type EvaluationRecord } from "../../src/metrics/index.js";
import { at } from "../at.js";
import { bruteAp, bruteAuroc } from "./brute-force.js";

process.env.SIMCLIP_QUIET = "1";

interface PixelCase {
  name: string;
  masks: number[][][];
  amaps: number[][][];
  expected: Record<"p_auroc" | "f1_max" | "pro" | "aupro_exact", { value: number | null; error: boolean }>;
}
const cases = (
  JSON.parse(readFileSync(new URL("../fixtures/metrics/pixel_level.json", import.meta.url), "utf8")) as {
    cases: PixelCase[];
  }
).cases;
const byName = (n: string) => cases.find((c) => c.name === n)!;

/** One record per image: label = the mask has a defect, score = the map's maximum (a common image score). */
function recordsOf(c: PixelCase, category: string, nullMasksForNormals = false): EvaluationRecord[] {
  return c.masks.map((mask, i) => {
    const label = mask.flat().some((v) => v === 1) ? 1 : 0;
    const map = at(c.amaps, i);
    return { category, label, score: Math.max(...map.flat()), mask: nullMasksForNormals && label === 0 ? null : mask, map };
  });
}

const close = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) <= 1e-9, `${what}: got ${got}, want ${want}`);

test("per-category table: every metric per category equals the fixture / brute force, mean is the macro mean", () => {
  const names = ["images_without_defects", "random_smooth", "threshold_count_201"];
  const records = names.flatMap((n, k) => recordsOf(byName(n), `cat${k}`, k === 0));
  const table = evaluatePerCategory(records, { metrics: ["i_auroc", "i_ap", "p_auroc", "p_pro", "p_aupro", "p_f1_max"] });
  assert.deepEqual(table.categories, ["cat0", "cat1", "cat2"]);
  // threshold_count_201 has a defect in every image, so its I-AUROC is undefined (noted, NaN).
  assert.equal(table.notes.length, 1);
  assert.match(at(table.notes, 0), /^cat2 i_auroc: .*only one class/);
  assert.ok(Number.isNaN(table.mean.i_auroc));
  names.forEach((n, k) => {
    const c = byName(n);
    const row = table.perCategory[`cat${k}`];
    assert.ok(row, `row cat${k}`);
    const rs = recordsOf(c, "x");
    const labels = rs.map((r) => r.label);
    const scores = rs.map((r) => r.score);
    if (new Set(labels).size === 2) close(row.i_auroc, bruteAuroc(labels, scores), `${n} i_auroc`);
    else assert.ok(Number.isNaN(row.i_auroc));
    close(row.p_auroc, c.expected.p_auroc.value!, `${n} p_auroc`);
    close(row.p_pro, c.expected.pro.value!, `${n} p_pro`);
    close(row.p_aupro, c.expected.aupro_exact.value!, `${n} p_aupro`);
    close(row.p_f1_max, c.expected.f1_max.value!, `${n} p_f1_max`);
  });
  const p = names.map((n) => byName(n).expected.pro.value!);
  close(table.mean.p_pro, p.reduce((a, b) => a + b, 0) / 3, "mean p_pro");
  assert.match(formatMetricTable(table), /^category\s+i_auroc\s+i_ap\s+p_auroc\s+p_pro\s+p_aupro\s+p_f1_max\n/);
  assert.match(formatMetricTable(table), new RegExp(`\\nmean .* ${(table.mean.p_pro * 100).toFixed(1)} `));
});

test("undefined metrics become NaN with a note naming category and reason; the mean is then NaN", () => {
  const constant = byName("constant_amap");
  const table = evaluatePerCategory([...recordsOf(constant, "flat"), ...recordsOf(byName("random_smooth"), "ok")]);
  assert.deepEqual(table.metrics, ["i_auroc", "i_ap", "p_auroc", "p_pro"]);
  const flat = table.perCategory.flat;
  assert.ok(flat);
  assert.ok(Number.isNaN(flat.p_pro));
  assert.ok(Number.isNaN(table.mean.p_pro));
  close(flat.p_auroc, 0.5, "constant p_auroc");
  assert.equal(table.notes.length, 1);
  assert.match(at(table.notes, 0), /^flat p_pro: .*constant/);
});

test("image-only evaluation (no maps) streams categories and closes them one at a time", () => {
  const ev = new CategoryEvaluator({ metrics: ["i_auroc", "i_ap"] });
  const labelsA = [0, 1, 0, 1, 1, 0];
  const scoresA = [0.1, 0.4, 0.35, 0.8, 0.4, 0.4];
  labelsA.forEach((l, i) => {
    ev.add("a", l, at(scoresA, i));
  });
  ev.closeCategory("a");
  assert.throws(
    () => ev.add("a", 0, 0.3),
    (e: unknown) => e instanceof MetricInputError && /already closed/.test(e.message),
  );
  ev.add("b", 0, 0.2);
  ev.add("b", 1, 0.9);
  const t = ev.result();
  const a = t.perCategory.a;
  assert.ok(a);
  close(a.i_auroc, bruteAuroc(labelsA, scoresA), "a auroc");
  close(a.i_ap, bruteAp(labelsA, scoresA), "a ap");
  close(t.mean.i_auroc, (bruteAuroc(labelsA, scoresA) + 1) / 2, "mean");
});

test("evaluator input errors: mixed maps, defect without mask, bad label/score, unknown metric, no records", () => {
  const c = byName("random_smooth");
  const ev = new CategoryEvaluator();
  ev.add("x", 0, 0.1, c.masks[0], c.amaps[0]);
  assert.throws(() => ev.add("x", 0, 0.1), /with and without anomaly maps/);
  assert.throws(() => ev.add("x", 1, 0.1, null, c.amaps[1]), /label 1 and a map but no mask/);
  assert.throws(
    () => ev.add("x", 3, 0.1),
    (e: unknown) => e instanceof MetricInputError && e.argument === "label",
  );
  assert.throws(
    () => ev.add("x", 1, NaN),
    (e: unknown) => e instanceof MetricInputError && e.argument === "score",
  );
  assert.throws(() => new CategoryEvaluator({ metrics: ["auroc" as never] }), /unknown metric "auroc"/);
  assert.throws(() => evaluatePerCategory([]), /empty/);
});

test("a category without anomalous images: I-AUROC NaN and I-AP 0 (scikit-learn 1.2.1), both noted", () => {
  const t = evaluatePerCategory(
    [
      { category: "good_only", label: 0, score: 0.2 },
      { category: "good_only", label: 0, score: 0.7 },
    ],
    { metrics: ["i_auroc", "i_ap"] },
  );
  const row = t.perCategory.good_only;
  assert.ok(row);
  assert.ok(Number.isNaN(row.i_auroc));
  assert.equal(row.i_ap, 0);
  assert.equal(t.notes.length, 2);
  assert.match(t.notes.join("\n"), /good_only i_auroc: .*only one class/);
  assert.match(t.notes.join("\n"), /good_only i_ap: no anomalous image/);
});
