/**
 * The plain data every experiment returns: rows keyed like the paper's table (src/notebook/
 * paper-tables.ts), so `comparisonHtml(PAPER_TABLES[id], rows, { setup })` sets them beside the quoted
 * numbers, and the raw evaluation results behind each row (per-category values, seeds).
 */
import type { EvaluationResults, MetricSummary } from "../models/common/evaluate.js";
import type { PaperTable, PaperTableId } from "../notebook/paper-tables.js";
import { resultRowFromEvaluation, type ResultRow } from "../notebook/tables.js";

export interface ExperimentRun {
  key: Record<string, string>;
  /** Which dataset the row's columns come from, e.g. "VisA" (trained on MVTec). */
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
}

const value = (v: number | MetricSummary): number => (typeof v === "number" ? v : v.mean);

/**
 * A table row from an evaluation, in the paper's column names (`resultRowFromEvaluation`); with
 * several seeds, their standard deviation goes to `std`.
 */
export function experimentRow(key: Record<string, string>, r: EvaluationResults, opts: { prefix?: string; table?: PaperTable } = {}): ResultRow {
  const row = resultRowFromEvaluation(key, { mean: Object.fromEntries(Object.entries(r.mean).map(([m, v]) => [m, value(v)])) }, opts);
  if (Object.values(r.mean).some((v) => typeof v !== "number")) {
    const std = resultRowFromEvaluation(key, { mean: Object.fromEntries(Object.entries(r.mean).map(([m, v]) => [m, typeof v === "number" ? 0 : v.std])) }, opts);
    row.std = std.values;
  }
  return row;
}

/** Plain-text rendering for terminals: key columns, then each metric x 100 (fractions) or as is. */
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
  ].join("\n");
}
