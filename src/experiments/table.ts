/**
 * The plain data every experiment returns: rows keyed like the paper's table (src/experiments/
 * paper-tables.ts), so `comparisonHtml(PAPER_TABLES[id], rows, { setup, notes })` sets them beside the
 * quoted numbers, and the raw evaluation results behind each row (per-category values, seeds).
 */
import type { EvaluationResults, MetricSummary } from "../models/common/evaluate.js";
import type { PaperTable, PaperTableId } from "./paper-tables.js";
import { experimentLabel, isSyntheticExperiment, type ExperimentSetup } from "./setup.js";

/** One row of our results, identified by the same key columns as the paper table's rows. */
export interface ResultRow {
  key: Record<string, string>;
  /** Metric name (as in the paper table) -> value; fractions in [0, 1] for "percent" tables; null: undefined. */
  values: Record<string, number | null>;
  /** Standard deviation over seeds, same units as `values`. */
  std?: Record<string, number | null>;
}

export interface ExperimentRun {
  key: Record<string, string>;
  /** Which dataset (Table 1: "VisA", trained on MVTec) or shot count (Table 6: "1-shot") the row's columns come from; it prefixes their names. */
  dataset?: string;
  results: EvaluationResults;
}

export interface ExperimentTable {
  id: PaperTableId;
  title: string;
  /** What the numbers were computed on (`setupLabel`); synthetic setups say so in it. */
  setup: string;
  synthetic: boolean;
  /** Fractions in [0, 1] for metric tables; std over the k-shot seeds where there were several. */
  rows: ResultRow[];
  runs: ExperimentRun[];
  /** Why a computed cell is empty: the evaluation's reason for each undefined metric. */
  notes: string[];
}

/** The paper's column names for the metrics module's names (src/metrics: i_auroc, i_ap, p_auroc, p_pro). */
const PAPER_METRIC_NAMES: Record<string, string> = { p_auroc: "P-AUR", p_pro: "P-PRO", i_auroc: "I-AUR", i_ap: "I-AP" };

/**
 * A ResultRow from an evaluation's macro means (`evaluatePerCategory(...).mean`), renamed to the
 * paper's columns with `prefix` (e.g. "VisA " for Table 1, "1-shot " for Table 6). Metrics the paper
 * does not report (AUPRO, F1-max), and with `table` the columns that table lacks (Table 6 has no
 * PRO), are left out; an undefined (NaN) metric becomes an empty cell.
 */
export function resultRowFromEvaluation(
  key: Record<string, string>,
  evaluation: { mean: Record<string, number> },
  opts: { prefix?: string; table?: PaperTable } = {},
): ResultRow {
  const values: Record<string, number | null> = {};
  for (const [name, v] of Object.entries(evaluation.mean)) {
    const paperName = PAPER_METRIC_NAMES[name];
    if (paperName === undefined) continue;
    const column = (opts.prefix ?? "") + paperName;
    if (opts.table === undefined || opts.table.metrics.includes(column)) values[column] = Number.isNaN(v) ? null : v;
  }
  return { key, values };
}

/** Merges rows with the same key (e.g. the VisA and MVTec halves of a Table 1 row). */
export function mergeResultRows(rows: ResultRow[]): ResultRow[] {
  const out: ResultRow[] = [];
  for (const r of rows) {
    const same = out.find((o) => JSON.stringify(Object.entries(o.key).sort()) === JSON.stringify(Object.entries(r.key).sort()));
    if (same) {
      same.values = { ...same.values, ...r.values };
      if (r.std) same.std = { ...same.std, ...r.std };
    } else out.push({ key: { ...r.key }, values: { ...r.values }, ...(r.std ? { std: { ...r.std } } : {}) });
  }
  return out;
}

const value = (v: number | MetricSummary): number => (typeof v === "number" ? v : v.mean);

/**
 * A table row from an evaluation, in the paper's column names (`resultRowFromEvaluation`); with
 * several seeds, their standard deviation goes to `std`.
 */
export function experimentRow(key: Record<string, string>, r: EvaluationResults, opts: { prefix?: string; table?: PaperTable } = {}): ResultRow {
  const row = resultRowFromEvaluation(key, { mean: Object.fromEntries(Object.entries(r.mean).map(([m, v]) => [m, value(v)])) }, opts);
  if (Object.values(r.mean).some((v) => typeof v !== "number")) {
    const std = resultRowFromEvaluation(
      key,
      { mean: Object.fromEntries(Object.entries(r.mean).map(([m, v]) => [m, typeof v === "number" ? 0 : v.std])) },
      opts,
    );
    row.std = std.values;
  }
  return row;
}

/**
 * For every cell a run leaves empty, the evaluation's reasons: a macro mean is undefined when the
 * metric is undefined for one of the classes, and the metrics module notes why (`EvaluationResults.notes`,
 * "<class> <metric>: <reason>").
 */
export function undefinedMetricNotes(paper: PaperTable, runs: ExperimentRun[]): string[] {
  const notes: string[] = [];
  for (const run of runs) {
    const prefix = run.dataset === undefined ? "" : `${run.dataset} `;
    for (const [name, paperName] of Object.entries(PAPER_METRIC_NAMES)) {
      const column = prefix + paperName;
      const v = run.results.mean[name];
      if (!paper.metrics.includes(column) || v === undefined || !Number.isNaN(value(v))) continue;
      const why = (run.results.notes ?? []).flatMap((n) => {
        const at = n.indexOf(` ${name}: `);
        // The metrics module words its reasons "<metric> is undefined: <why>"; the note says the first part once.
        return at > 0 ? [`for class ${n.slice(0, at)}, ${n.slice(at + name.length + 3).replace(/^\S+ is undefined: /, "")}`] : [];
      });
      const row = paper.keys.map((k) => `${k} ${run.key[k] || "–"}`).join(", ");
      notes.push(
        `${row}: ${column} is undefined, as its macro mean is undefined when one class's value is: ${why.length > 0 ? why.join("; ") : "the evaluation gave no reason"}.`,
      );
    }
  }
  return notes;
}

/**
 * The table of `runs`: one row per key (a run's columns named with its `dataset` prefix), merged in
 * the order the runs were made, with the notes on undefined cells.
 */
export function experimentTable(paper: PaperTable, setup: ExperimentSetup, runs: ExperimentRun[]): ExperimentTable {
  return {
    id: paper.id,
    title: paper.title,
    setup: experimentLabel(setup),
    synthetic: isSyntheticExperiment(setup),
    rows: mergeResultRows(runs.map((r) => experimentRow(r.key, r.results, { prefix: r.dataset === undefined ? "" : `${r.dataset} `, table: paper }))),
    runs,
    notes: undefinedMetricNotes(paper, runs),
  };
}

/** Plain-text rendering for terminals: key columns, then each metric x 100 (fractions) or as is; then the notes. */
export function formatExperimentTable(t: ExperimentTable, paper: PaperTable, digits = 1): string {
  const scale = paper.unit === "percent" ? 100 : 1;
  const metrics = paper.metrics.filter((m) => t.rows.some((r) => r.values[m] !== undefined && r.values[m] !== null));
  const header = [...paper.keys, ...metrics];
  const body = t.rows.map((r) => [
    ...paper.keys.map((k) => r.key[k] || "-"),
    ...metrics.map((m) => {
      const v = r.values[m];
      if (v === undefined || v === null) return "-";
      const s = r.std?.[m];
      return s === undefined || s === null ? (v * scale).toFixed(digits) : `${(v * scale).toFixed(digits)}±${(s * scale).toFixed(digits)}`;
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < paper.keys.length ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [
    t.title,
    `computed on: ${t.setup}${paper.unit === "percent" ? " (values in %)" : ""}`,
    line(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...body.map(line),
    ...t.notes.map((n) => `note: ${n}`),
  ].join("\n");
}
