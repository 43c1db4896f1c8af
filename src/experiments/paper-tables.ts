/**
 * The numbers of Tables 1-6 of the SimCLIP paper, QUOTED (typed in from the paper's text), so that
 * notebooks can show them beside the numbers we compute. Nothing here is produced by this code.
 *
 * Every table has the same shape: `keys` name the columns that identify a row (setup, method, ...),
 * `metrics` the value columns. Values are percentages as printed; `null` is the paper's "-".
 * Rows with `onlyQuoted` are methods this project does not implement (RegAD, AnomalyGPT): they are
 * shown for reference and never have a computed counterpart.
 */
import { ShapeError } from "../errors.js";

export interface PaperRow {
  key: Record<string, string>;
  values: Record<string, number | null>;
  /** Standard deviation over the paper's 5 k-shot draws (Table 1's few-shot rows only). */
  std?: Record<string, number | null>;
  onlyQuoted?: boolean;
}

export interface PaperTable {
  id: PaperTableId;
  title: string;
  /** Where the numbers come from, shown under every rendered table. */
  source: string;
  /** "percent": values are percentages (computed metrics, fractions in [0, 1], are shown x 100); "raw": plain numbers. */
  unit: "percent" | "raw";
  keys: string[];
  metrics: string[];
  rows: PaperRow[];
  /** How to read the quoted numbers, shown under every rendered table. */
  notes?: string[];
}

export type PaperTableId = "table1" | "table2" | "table3" | "table4" | "table5" | "table6";

const SOURCE = "quoted from the SimCLIP paper";

const T1_METRICS = ["VisA P-AUR", "VisA P-PRO", "VisA I-AUR", "VisA I-AP", "MVTec P-AUR", "MVTec P-PRO", "MVTec I-AUR", "MVTec I-AP"];

/** A zero-shot Table 1 row: one evaluation, no k-shot draw, so no spread (the paper prints "±0.0"). */
function t1ZeroShot(method: string, cells: number[]): PaperRow {
  return { key: { setup: "0-shot", method }, values: Object.fromEntries(T1_METRICS.map((m, i) => [m, cells[i]!])) };
}

/** A few-shot Table 1 row from the paper's "mean±std" cells in column order; null for "-". */
function t1(setup: string, method: string, cells: ([number, number] | null)[], onlyQuoted = false): PaperRow {
  const values: Record<string, number | null> = {};
  const std: Record<string, number | null> = {};
  T1_METRICS.forEach((m, i) => {
    const c = cells[i];
    values[m] = c === null || c === undefined ? null : c[0];
    std[m] = c === null || c === undefined ? null : c[1];
  });
  return { key: { setup, method }, values, std, ...(onlyQuoted ? { onlyQuoted } : {}) };
}

function pairs(keys: Record<string, string>, metrics: string[], values: number[]): PaperRow {
  if (values.length !== metrics.length) {
    throw new ShapeError(`paper table row ${JSON.stringify(keys)}: ${values.length} values for ${metrics.length} metrics`);
  }
  return { key: keys, values: Object.fromEntries(metrics.map((m, i) => [m, values[i]!])) };
}

export const PAPER_TABLE_1: PaperTable = {
  id: "table1",
  title: "Table 1: zero-/few-shot anomaly segmentation (P-) and classification (I-) on VisA and MVTec-AD",
  source: `${SOURCE}, Table 1 (few-shot rows: mean ± std over 5 seeds)`,
  unit: "percent",
  keys: ["setup", "method"],
  metrics: T1_METRICS,
  notes: [
    'The paper prints "±0.0" on every zero-shot cell: a zero-shot method is evaluated once, with no k-shot draw to vary, so those cells show no spread here.',
    'RegAD and AnomalyGPT are quoted only (not implemented here); "–" in a paper column is the paper\'s own "-" (AnomalyGPT reports no PRO or AP).',
  ],
  rows: [
    t1ZeroShot("CLIP-AC", [47.8, 17.3, 65.0, 70.1, 38.2, 11.6, 71.5, 86.4]),
    t1ZeroShot("APRIL-GAN", [94.2, 86.8, 78.0, 81.4, 87.6, 44.0, 86.1, 93.5]),
    t1ZeroShot("AnomalyCLIP", [95.5, 87.0, 82.1, 85.4, 91.1, 81.4, 91.5, 96.2]),
    t1ZeroShot("SimCLIP", [95.6, 89.7, 83.1, 86.0, 91.8, 86.8, 90.0, 95.3]),
    t1("1-shot", "PatchCore", [
      [95.4, 0.6],
      [64.3, 2.4],
      [79.9, 2.9],
      [82.8, 2.3],
      [93.3, 0.6],
      [82.3, 1.3],
      [86.3, 3.3],
      [92.2, 1.5],
    ]),
    t1(
      "1-shot",
      "RegAD",
      [
        [93.6, 0.2],
        [72.0, 0.5],
        [68.4, 1.0],
        [71.2, 0.5],
        [92.8, 0.5],
        [77.9, 1.2],
        [76.5, 2.0],
        [88.2, 0.9],
      ],
      true,
    ),
    t1("1-shot", "APRIL-GAN", [
      [96.0, 0.0],
      [90.0, 0.1],
      [91.2, 0.8],
      [93.3, 0.8],
      [95.1, 0.1],
      [90.6, 0.2],
      [92.0, 0.3],
      [95.8, 0.2],
    ]),
    t1("1-shot", "AnomalyGPT", [[96.2, 0.1], null, [87.4, 0.8], null, [95.3, 0.1], null, [94.1, 1.1], null], true),
    t1("1-shot", "SimCLIP+", [
      [97.4, 0.1],
      [92.7, 0.2],
      [93.0, 1.1],
      [94.5, 0.9],
      [95.6, 0.2],
      [92.4, 0.2],
      [95.3, 0.3],
      [97.7, 0.3],
    ]),
    t1("2-shot", "PatchCore", [
      [96.1, 0.5],
      [82.6, 2.3],
      [81.6, 4.0],
      [84.8, 3.2],
      [92.0, 1.0],
      [79.7, 2.0],
      [83.4, 3.0],
      [93.8, 1.7],
    ]),
    t1(
      "2-shot",
      "RegAD",
      [
        [94.4, 0.3],
        [73.4, 0.8],
        [73.3, 1.4],
        [75.0, 0.7],
        [94.6, 0.3],
        [86.3, 0.9],
        [85.7, 1.3],
        [92.7, 0.7],
      ],
      true,
    ),
    t1("2-shot", "APRIL-GAN", [
      [96.2, 0.0],
      [90.1, 0.1],
      [92.2, 0.3],
      [94.2, 0.3],
      [95.5, 0.0],
      [91.3, 0.1],
      [92.4, 0.3],
      [96.0, 0.2],
    ]),
    t1("2-shot", "AnomalyGPT", [[96.4, 0.1], null, [88.6, 0.7], null, [95.6, 0.2], null, [95.5, 0.8], null], true),
    t1("2-shot", "SimCLIP+", [
      [97.7, 0.1],
      [93.4, 0.0],
      [93.7, 0.2],
      [94.9, 0.2],
      [96.0, 0.2],
      [92.9, 0.1],
      [96.0, 0.2],
      [98.1, 0.1],
    ]),
    t1("4-shot", "PatchCore", [
      [96.8, 0.3],
      [84.9, 1.4],
      [85.3, 2.1],
      [87.5, 2.1],
      [94.3, 0.5],
      [84.3, 1.6],
      [88.8, 2.6],
      [94.5, 1.5],
    ]),
    t1(
      "4-shot",
      "RegAD",
      [
        [95.9, 0.2],
        [76.5, 0.9],
        [73.8, 0.8],
        [75.8, 1.8],
        [95.8, 0.3],
        [88.1, 0.8],
        [88.2, 1.3],
        [94.8, 0.6],
      ],
      true,
    ),
    t1("4-shot", "APRIL-GAN", [
      [96.2, 0.0],
      [90.2, 0.1],
      [92.6, 0.4],
      [94.5, 0.3],
      [95.9, 0.0],
      [91.8, 0.1],
      [92.8, 0.2],
      [96.3, 0.1],
    ]),
    t1("4-shot", "AnomalyGPT", [[97.2, 0.2], null, [90.6, 0.7], null, [96.2, 0.1], null, [96.3, 0.3], null], true),
    t1("4-shot", "SimCLIP+", [
      [98.0, 0.2],
      [94.1, 0.1],
      [94.4, 0.1],
      [95.6, 0.1],
      [96.2, 0.1],
      [93.1, 0.1],
      [96.4, 0.2],
      [98.0, 0.2],
    ]),
  ],
};

export const PAPER_TABLE_2: PaperTable = {
  id: "table2",
  title: "Table 2: computation and memory overhead of prompt learning methods",
  source: `${SOURCE}, Table 2`,
  unit: "raw",
  keys: ["method"],
  metrics: ["FLOPs(G)", "Params(M)"],
  notes: [
    "FLOPs(G): multiply-accumulates of one image's forward pass with its two prompts, G = 1e9. Params(M): the whole model, frozen CLIP included, M = 1e6.",
  ],
  rows: [
    pairs({ method: "CoOp" }, ["FLOPs(G)", "Params(M)"], [520.46, 428.79]),
    pairs({ method: "Co-CoOp" }, ["FLOPs(G)", "Params(M)"], [520.46, 428.92]),
    pairs({ method: "IPT" }, ["FLOPs(G)", "Params(M)"], [513.75, 428.77]),
  ],
};

const ASAC = ["P-AUR", "P-PRO", "I-AUR", "I-AP"];

export const PAPER_TABLE_3: PaperTable = {
  id: "table3",
  title: "Table 3: MHVA / IPT ablation of SimCLIP on VisA (zero-shot)",
  source: `${SOURCE}, Table 3`,
  unit: "percent",
  keys: ["MHVA", "IPT"],
  metrics: ASAC,
  rows: [
    pairs({ MHVA: "", IPT: "" }, ASAC, [22.9, 11.7, 67.4, 72.2]),
    pairs({ MHVA: "✓", IPT: "" }, ASAC, [94.3, 84.0, 67.4, 72.2]),
    pairs({ MHVA: "", IPT: "✓" }, ASAC, [22.3, 11.3, 83.0, 85.7]),
    pairs({ MHVA: "✓", IPT: "✓" }, ASAC, [95.6, 89.7, 83.1, 86.0]),
  ],
};

export const PAPER_TABLE_4: PaperTable = {
  id: "table4",
  title: "Table 4: IPT vs CoOp / CoCoOp inside SimCLIP (zero-shot)",
  source: `${SOURCE}, Table 4`,
  unit: "percent",
  keys: ["dataset", "method"],
  metrics: ASAC,
  rows: [
    pairs({ dataset: "VisA", method: "CoOp" }, ASAC, [93.9, 75.1, 74.7, 79.0]),
    pairs({ dataset: "VisA", method: "Co-CoOp" }, ASAC, [93.8, 73.6, 79.5, 82.5]),
    pairs({ dataset: "VisA", method: "IPT" }, ASAC, [95.6, 89.7, 83.1, 86.0]),
    pairs({ dataset: "MVTec", method: "CoOp" }, ASAC, [79.2, 26.1, 87.4, 94.4]),
    pairs({ dataset: "MVTec", method: "Co-CoOp" }, ASAC, [81.1, 40.9, 84.4, 91.7]),
    pairs({ dataset: "MVTec", method: "IPT" }, ASAC, [91.8, 86.8, 90.0, 95.3]),
  ],
};

/** The paper's Hierarchy1..4 are the hooked layers L = {6, 12, 18, 24} of ViT-L/14, in order. */
export const PAPER_TABLE_5: PaperTable = {
  id: "table5",
  title: "Table 5: single- vs multi-hierarchy vision adapter on VisA (zero-shot)",
  source: `${SOURCE}, Table 5`,
  unit: "percent",
  keys: ["hierarchy"],
  metrics: ["P-AUR", "P-PRO"],
  rows: [
    pairs({ hierarchy: "1 (layer 6)" }, ["P-AUR", "P-PRO"], [89.7, 74.1]),
    pairs({ hierarchy: "2 (layer 12)" }, ["P-AUR", "P-PRO"], [93.8, 83.5]),
    pairs({ hierarchy: "3 (layer 18)" }, ["P-AUR", "P-PRO"], [94.7, 85.8]),
    pairs({ hierarchy: "4 (layer 24)" }, ["P-AUR", "P-PRO"], [94.6, 85.8]),
    pairs({ hierarchy: "all" }, ["P-AUR", "P-PRO"], [95.6, 89.7]),
  ],
};

const T6 = ["1-shot P-AUR", "1-shot I-AUR", "2-shot P-AUR", "2-shot I-AUR", "4-shot P-AUR", "4-shot I-AUR"];

export const PAPER_TABLE_6: PaperTable = {
  id: "table6",
  title: "Table 6: feature-driven (FD) / prior-aware optimisation (PAO) ablation of SimCLIP+ on VisA",
  source: `${SOURCE}, Table 6`,
  unit: "percent",
  keys: ["FD", "PAO"],
  metrics: T6,
  rows: [
    pairs({ FD: "✓", PAO: "" }, T6, [97.2, 83.6, 97.5, 87.8, 97.6, 92.1]),
    pairs({ FD: "", PAO: "✓" }, T6, [96.5, 84.0, 96.6, 84.0, 96.6, 84.2]),
    pairs({ FD: "✓", PAO: "✓" }, T6, [97.4, 93.0, 97.7, 93.7, 98.0, 94.4]),
  ],
};

export const PAPER_TABLES: Record<PaperTableId, PaperTable> = {
  table1: PAPER_TABLE_1,
  table2: PAPER_TABLE_2,
  table3: PAPER_TABLE_3,
  table4: PAPER_TABLE_4,
  table5: PAPER_TABLE_5,
  table6: PAPER_TABLE_6,
};
