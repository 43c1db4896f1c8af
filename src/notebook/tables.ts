/**
 * Tables for notebooks: our numbers beside the paper's quoted ones, rendered to HTML with arquero.
 * Every comparison names the setup our numbers come from, so synthetic-benchmark results can never be
 * read as a reproduction of the paper.
 */
import * as aq from "arquero";
import { InvalidArgumentError } from "../errors.js";
import type { PaperTable } from "./paper-tables.js";
import { escapeHtml } from "./html.js";
import { showHtml } from "./tslab.js";

/** One row of our results, identified by the same key columns as the paper table's rows. */
export interface ResultRow {
  key: Record<string, string>;
  /** Metric name (as in the paper table) -> value; fractions in [0, 1] for "percent" tables. */
  values: Record<string, number | null>;
  /** Standard deviation over seeds, same units as `values`. */
  std?: Record<string, number | null>;
}

export interface ComparisonOptions {
  /** What our numbers were computed on, e.g. "synthetic benchmark, demo backbone" (see `setupLabel`). */
  setup: string;
  digits?: number;
}

const PAPER = "paper";
const OURS = "ours";

/** An arquero table: the paper's key columns, then "<metric> · paper" and "<metric> · ours" per metric. */
export function comparisonTable(paper: PaperTable, ours: ResultRow[], opts: ComparisonOptions): aq.Table {
  const digits = opts.digits ?? 1;
  const scale = paper.unit === "percent" ? 100 : 1;
  for (const row of ours) validateRow(paper, row);
  const same = (a: Record<string, string>, b: Record<string, string>) => paper.keys.every((k) => a[k] === b[k]);
  const cell = (v: number | null | undefined, s: number | null | undefined, k: number) =>
    v === null || v === undefined ? null : s === null || s === undefined ? (v * k).toFixed(digits) : `${(v * k).toFixed(digits)} ± ${(s * k).toFixed(digits)}`;

  const records: Record<string, string | null>[] = [];
  const used = new Set<ResultRow>();
  for (const p of paper.rows) {
    const mine = ours.find((o) => same(o.key, p.key));
    if (mine) used.add(mine);
    records.push(record(paper, p.key, (m) => [
      cell(p.values[m], p.std?.[m], 1),
      p.onlyQuoted ? "quoted only" : mine ? cell(mine.values[m], mine.std?.[m], scale) : null,
    ]));
  }
  for (const o of ours) {
    if (!used.has(o)) records.push(record(paper, o.key, (m) => [null, cell(o.values[m], o.std?.[m], scale)]));
  }
  return aq.from(records);
}

/** HTML for a notebook: the comparison table with a caption stating both sources. */
export function comparisonHtml(paper: PaperTable, ours: ResultRow[], opts: ComparisonOptions): string {
  const table = comparisonTable(paper, ours, opts);
  const align = Object.fromEntries(table.columnNames().map((c) => [c, paper.keys.includes(c) ? "l" : "r"] as const));
  const body = aq.toHTML(table, {
    align,
    null: () => "–",
    style: {
      table: "border-collapse: collapse; font-size: 12px;",
      th: "padding: 2px 6px; border-bottom: 1px solid #888;",
      td: (name: string) => `padding: 2px 6px;${name.endsWith(OURS) ? " background: #eef6ff;" : ""}`,
    },
  });
  const units = paper.unit === "percent" ? " Values in %." : "";
  return (
    `<figure style="margin: 0 0 1em 0"><figcaption><b>${escapeHtml(paper.title)}</b><br>` +
    `<i>${PAPER}</i>: ${escapeHtml(paper.source)}. <i>${OURS}</i>: computed by simclip on ${escapeHtml(opts.setup)}.${units}</figcaption>` +
    `${body}</figure>`
  );
}

export function showComparison(paper: PaperTable, ours: ResultRow[], opts: ComparisonOptions): void {
  showHtml(comparisonHtml(paper, ours, opts));
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

/** Plain HTML table of records (e.g. per-category metrics): integers as they are, other numbers with `digits` decimals. */
export function recordsHtml(records: Record<string, string | number | null>[], opts: { digits?: number; caption?: string } = {}): string {
  const digits = opts.digits ?? 3;
  const table = aq.from(records);
  const format = Object.fromEntries(
    table.columnNames().map((c) => [c, (v: unknown) => (typeof v === "number" && !Number.isInteger(v) ? v.toFixed(digits) : String(v))] as const),
  );
  const html = aq.toHTML(table, { format, null: () => "–", style: { td: "padding: 2px 6px;", th: "padding: 2px 6px;" } });
  return opts.caption === undefined ? html : `<figure><figcaption>${escapeHtml(opts.caption)}</figcaption>${html}</figure>`;
}

function record(paper: PaperTable, key: Record<string, string>, cells: (m: string) => [string | null, string | null]): Record<string, string | null> {
  const r: Record<string, string | null> = {};
  for (const k of paper.keys) r[k] = key[k] ?? "";
  for (const m of paper.metrics) {
    const [p, o] = cells(m);
    r[`${m} · ${PAPER}`] = p;
    r[`${m} · ${OURS}`] = o;
  }
  return r;
}

function validateRow(paper: PaperTable, row: ResultRow): void {
  const where = `result row ${JSON.stringify(row.key)} for ${paper.id}`;
  for (const k of paper.keys) {
    if (typeof row.key[k] !== "string") throw new InvalidArgumentError(`${where}: key column "${k}" is missing; ${paper.id} rows are identified by ${paper.keys.join(", ")}`);
  }
  for (const [m, v] of Object.entries(row.values)) {
    if (!paper.metrics.includes(m)) throw new InvalidArgumentError(`${where}: metric "${m}" is not a column of ${paper.id} (${paper.metrics.join(", ")})`);
    if (v !== null && paper.unit === "percent" && !(v >= 0 && v <= 1)) {
      throw new InvalidArgumentError(`${where}: "${m}" = ${v}, expected a fraction in [0, 1] as the metrics functions return (the table shows it x 100)`);
    }
  }
}
