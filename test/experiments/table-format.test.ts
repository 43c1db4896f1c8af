/** Rows from evaluation results (paper column names, seeds' std) and the terminal rendering, on hand-made values. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { experimentRow, formatExperimentTable, type ExperimentTable } from "../../src/experiments/table.js";
import { PAPER_TABLE_1, PAPER_TABLE_6 } from "../../src/notebook/paper-tables.js";
import type { EvaluationResults } from "../../src/models/common/evaluate.js";

const zeroShot: EvaluationResults = {
  method: "simclip", dataset: "visa:/x", shots: 0, per_category: {},
  mean: { i_auroc: 0.75, i_ap: 0.5, p_auroc: 0.875, p_pro: 0.25, p_aupro: 0.3, f1_max: 0.4 },
};
const fewShot: EvaluationResults = {
  method: "simclip+", dataset: "visa:/x", shots: 1, seeds: [0, 1], per_category: {},
  mean: { i_auroc: { mean: 0.9, std: 0.02 }, p_auroc: { mean: 0.95, std: 0.005 }, p_pro: { mean: 0.5, std: 0 } },
};

test("experimentRow: the paper's column names with a prefix; metrics the table lacks are dropped; seeds give std", () => {
  assert.deepEqual(experimentRow({ setup: "0-shot", method: "SimCLIP" }, zeroShot, { prefix: "VisA ", table: PAPER_TABLE_1 }), {
    key: { setup: "0-shot", method: "SimCLIP" },
    values: { "VisA I-AUR": 0.75, "VisA I-AP": 0.5, "VisA P-AUR": 0.875, "VisA P-PRO": 0.25 },
  });
  // Table 6 has P-AUR and I-AUR per k only (no PRO).
  assert.deepEqual(experimentRow({ FD: "✓", PAO: "✓" }, fewShot, { prefix: "1-shot ", table: PAPER_TABLE_6 }), {
    key: { FD: "✓", PAO: "✓" },
    values: { "1-shot I-AUR": 0.9, "1-shot P-AUR": 0.95 },
    std: { "1-shot I-AUR": 0.02, "1-shot P-AUR": 0.005 },
  });
});

test("formatExperimentTable: percentages with one decimal, mean±std, '-' for missing, only columns with values", () => {
  const t: ExperimentTable = {
    id: "table1", title: "T1", setup: "synthetic benchmark", synthetic: true, runs: [],
    rows: [
      { key: { setup: "0-shot", method: "SimCLIP" }, values: { "VisA P-AUR": 0.875, "VisA I-AUR": null } },
      { key: { setup: "1-shot", method: "SimCLIP+" }, values: { "VisA P-AUR": 0.95, "VisA I-AUR": 0.9 }, std: { "VisA P-AUR": 0.005, "VisA I-AUR": 0.02 } },
    ],
  };
  assert.equal(
    formatExperimentTable(t, PAPER_TABLE_1),
    [
      "T1",
      "computed on: synthetic benchmark (values in %)",
      "setup   method    VisA P-AUR  VisA I-AUR",
      "------  --------  ----------  ----------",
      "0-shot  SimCLIP         87.5           -",
      "1-shot  SimCLIP+    95.0±0.5    90.0±2.0",
    ].join("\n"),
  );
});
