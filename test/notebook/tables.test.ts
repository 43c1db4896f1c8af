import { test } from "node:test";
import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../src/errors.js";
import { PAPER_TABLE_1, PAPER_TABLE_2, PAPER_TABLE_5, PAPER_TABLE_6 } from "../../src/experiments/paper-tables.js";
import { mergeResultRows, resultRowFromEvaluation, type ResultRow } from "../../src/experiments/table.js";
import { comparisonHtml, comparisonTable, recordsHtml } from "../../src/notebook/tables.js";
import { at } from "../at.js";

test("comparisonTable puts our fractions (x 100) beside the paper's percentages, row by row", () => {
  const ours: ResultRow[] = [
    { key: { hierarchy: "all" }, values: { "P-AUR": 0.9123, "P-PRO": 0.5 }, std: { "P-AUR": 0.0012, "P-PRO": null } },
    { key: { hierarchy: "layers 6+24" }, values: { "P-AUR": 0.8 } },
  ];
  const rows = comparisonTable(PAPER_TABLE_5, ours, { setup: "synthetic benchmark" }).objects() as Record<string, string | null>[];
  assert.deepEqual(
    rows.map((r) => r.hierarchy),
    ["1 (layer 6)", "2 (layer 12)", "3 (layer 18)", "4 (layer 24)", "all", "layers 6+24"],
  );
  assert.deepEqual(at(rows, 4), { hierarchy: "all", "P-AUR · paper": "95.6", "P-AUR · ours": "91.2 ± 0.1", "P-PRO · paper": "89.7", "P-PRO · ours": "50.0" });
  assert.equal(at(rows, 0)["P-AUR · ours"], null, "no result for that row");
  assert.deepEqual(at(rows, 5), { hierarchy: "layers 6+24", "P-AUR · paper": null, "P-AUR · ours": "80.0", "P-PRO · paper": null, "P-PRO · ours": null });
});

test("raw tables are not rescaled; quoted-only rows say so; HTML names both sources", () => {
  const rows = comparisonTable(PAPER_TABLE_2, [{ key: { method: "IPT" }, values: { "FLOPs(G)": 1.234, "Params(M)": 0.5 } }], {
    setup: "demo backbone",
    digits: 2,
  }).objects() as Record<string, string | null>[];
  assert.equal(at(rows, 2)["FLOPs(G) · ours"], "1.23");
  assert.equal(at(rows, 2)["FLOPs(G) · paper"], "513.75");
  const html = comparisonHtml(PAPER_TABLE_5, [], { setup: "the <synthetic> benchmark" });
  assert.match(html, /quoted from the SimCLIP paper, Table 5/);
  assert.match(html, /computed by simclip on the &lt;synthetic&gt; benchmark/);
  assert.match(html, /<td[^>]*>95\.6<\/td>/);
});

test("results that do not fit the table are rejected with the reason", () => {
  assert.throws(() => comparisonTable(PAPER_TABLE_5, [{ key: { hierarchy: "all" }, values: { "P-AUR": 95.6 } }], { setup: "x" }), /expected a fraction/);
  assert.throws(() => comparisonTable(PAPER_TABLE_5, [{ key: { hierarchy: "all" }, values: { "I-AUR": 0.5 } }], { setup: "x" }), InvalidArgumentError);
  assert.throws(() => comparisonTable(PAPER_TABLE_5, [{ key: { layer: "all" }, values: {} }], { setup: "x" }), /key column "hierarchy"/);
});

test("comparisonHtml lists the paper's notes, then ours, under the table", () => {
  const html = comparisonHtml(PAPER_TABLE_1, [], { setup: "x", notes: ["MVTec P-PRO is <undefined>"] });
  const items = [...html.matchAll(/<li>(.*?)<\/li>/g)].map((m) => m[1]);
  assert.equal(items.length, PAPER_TABLE_1.notes!.length + 1);
  assert.match(items[0]!, /zero-shot method is evaluated once/);
  assert.equal(items.at(-1), "MVTec P-PRO is &lt;undefined&gt;");
  assert.ok(html.indexOf("<ul") > html.indexOf("</table>"), "notes follow the table");
  assert.doesNotMatch(comparisonHtml(PAPER_TABLE_5, [], { setup: "x" }), /<ul/, "no list when there is nothing to note");
});

test("recordsHtml formats numbers and nulls", () => {
  const html = recordsHtml(
    [
      { category: "bottle", auroc: 0.98765, images: 12 },
      { category: "mean", auroc: null, images: 40 },
    ],
    { digits: 2 },
  );
  assert.match(html, /<td[^>]*>bottle<\/td><td[^>]*>0\.99<\/td><td[^>]*>12<\/td>/);
  assert.match(html, /<td[^>]*>–<\/td>/);
});

test("resultRowFromEvaluation renames the metrics module's means to the paper's columns", () => {
  const visa = resultRowFromEvaluation(
    { setup: "0-shot", method: "SimCLIP" },
    { mean: { i_auroc: 0.8, i_ap: 0.7, p_auroc: 0.9, p_pro: Number.NaN, p_f1_max: 0.3 } },
    { prefix: "VisA " },
  );
  assert.deepEqual(visa.values, { "VisA I-AUR": 0.8, "VisA I-AP": 0.7, "VisA P-AUR": 0.9, "VisA P-PRO": null });
  const mvtec = resultRowFromEvaluation({ method: "SimCLIP", setup: "0-shot" }, { mean: { p_auroc: 0.5 } }, { prefix: "MVTec " });
  const merged = mergeResultRows([visa, mvtec]);
  assert.equal(merged.length, 1);
  assert.deepEqual(at(merged, 0).values, { ...visa.values, "MVTec P-AUR": 0.5 });
  const rows = comparisonTable(PAPER_TABLE_1, merged, { setup: "x" }).objects() as Record<string, string | null>[];
  const simclip = rows.find((r) => r.method === "SimCLIP" && r.setup === "0-shot");
  assert.equal(simclip?.["VisA I-AUR · ours"], "80.0");
  assert.equal(simclip?.["VisA I-AUR · paper"], "83.1", "a zero-shot cell has no spread to show");
  const fewShot = rows.find((r) => r.method === "SimCLIP+" && r.setup === "1-shot");
  assert.equal(fewShot?.["VisA I-AUR · paper"], "93.0 ± 1.1");
  assert.equal(rows.find((r) => r.method === "RegAD")?.["VisA I-AUR · ours"], "quoted only");
  const t6 = resultRowFromEvaluation(
    { FD: "✓", PAO: "" },
    { mean: { i_auroc: 0.8, i_ap: 0.7, p_auroc: 0.9, p_pro: 0.6 } },
    { prefix: "1-shot ", table: PAPER_TABLE_6 },
  );
  assert.deepEqual(t6.values, { "1-shot I-AUR": 0.8, "1-shot P-AUR": 0.9 });
});
