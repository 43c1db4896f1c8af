/** Rows from evaluation results (paper column names, seeds' std) and the terminal rendering, on hand-made values. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { experimentRow, experimentTable, formatExperimentTable, type ExperimentRun, type ExperimentTable } from "../../src/experiments/table.js";
import { experimentSetupFrom } from "../../src/experiments/setup.js";
import { PAPER_TABLE_1, PAPER_TABLE_6 } from "../../src/experiments/paper-tables.js";
import type { EvaluationResults } from "../../src/models/common/evaluate.js";

const zeroShot: EvaluationResults = {
  method: "simclip",
  dataset: "visa:/x",
  shots: 0,
  per_category: {},
  mean: { i_auroc: 0.75, i_ap: 0.5, p_auroc: 0.875, p_pro: 0.25, p_aupro: 0.3, f1_max: 0.4 },
};
const fewShot: EvaluationResults = {
  method: "simclip+",
  dataset: "visa:/x",
  shots: 1,
  seeds: [0, 1],
  per_category: {},
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
    id: "table1",
    title: "T1",
    setup: "synthetic benchmark",
    synthetic: true,
    runs: [],
    notes: [],
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

test("experimentTable: runs merged by key with their dataset prefix; an undefined metric is an empty cell with the evaluation's reason", () => {
  const setup = experimentSetupFrom({
    backbone: { kind: "demo" },
    mvtec: { kind: "synthetic" },
    visa: { kind: "synthetic" },
    quick: true,
    configFile: null,
    cacheDir: "/tmp/unused",
  });
  const undefinedPro: EvaluationResults = {
    method: "april-gan",
    dataset: "mvtec:/x",
    shots: 0,
    per_category: {},
    mean: { i_auroc: 0.5, i_ap: 0.625, p_auroc: 0.75, p_pro: Number.NaN },
    notes: ["screw p_pro: pro is undefined: every threshold with fpr < 0.3 has the same fpr (0)", "wood i_ap: no anomalous image"],
  };
  const runs: ExperimentRun[] = [
    { key: { setup: "0-shot", method: "APRIL-GAN" }, dataset: "VisA", results: zeroShot },
    { key: { setup: "0-shot", method: "APRIL-GAN" }, dataset: "MVTec", results: undefinedPro },
  ];
  const t = experimentTable(PAPER_TABLE_1, setup, runs);
  assert.deepEqual([t.id, t.title, t.synthetic, t.runs], ["table1", PAPER_TABLE_1.title, true, runs]);
  assert.match(t.setup, /SYNTHETIC SETUP/);
  assert.deepEqual(t.rows, [
    {
      key: { setup: "0-shot", method: "APRIL-GAN" },
      values: {
        "VisA I-AUR": 0.75,
        "VisA I-AP": 0.5,
        "VisA P-AUR": 0.875,
        "VisA P-PRO": 0.25,
        "MVTec I-AUR": 0.5,
        "MVTec I-AP": 0.625,
        "MVTec P-AUR": 0.75,
        "MVTec P-PRO": null,
      },
    },
  ]);
  assert.deepEqual(t.notes, [
    "setup 0-shot, method APRIL-GAN: MVTec P-PRO is undefined, as its macro mean is undefined when one class's value is: for class screw, every threshold with fpr < 0.3 has the same fpr (0).",
  ]);
  assert.ok(formatExperimentTable(t, PAPER_TABLE_1).endsWith(`\nnote: ${t.notes[0]}`), "the terminal table ends with the note");
});
