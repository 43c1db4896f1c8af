/**
 * Tables for notebooks: our numbers beside the paper's quoted ones, rendered to HTML with arquero.
 * Every comparison names the setup our numbers come from, so synthetic-benchmark results can never be
 * read as a reproduction of the paper.
 */
import * as aq from "arquero";
import { InvalidArgumentError } from "../errors.js";
import { PAPER_TABLES, type PaperTable } from "../experiments/paper-tables.js";
import type { ExperimentTable, ResultRow } from "../experiments/table.js";
import { escapeHtml } from "./html.js";
import { showHtml } from "./tslab.js";

export interface ComparisonOptions {
  /** What our numbers were computed on, e.g. "synthetic benchmark, demo backbone" (see `setupLabel`). */
  setup: string;
  /** Why computed cells are empty (`ExperimentTable.notes`); shown under the table after the paper's own notes. */
  notes?: string[];
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
    records.push(
      record(paper, p.key, (m) => [cell(p.values[m], p.std?.[m], 1), p.onlyQuoted ? "quoted only" : mine ? cell(mine.values[m], mine.std?.[m], scale) : null]),
    );
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
  const notes = [...(paper.notes ?? []), ...(opts.notes ?? [])];
  const list = notes.length === 0 ? "" : `<ul style="font-size: 12px; margin: 0.5em 0 0 0">${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>`;
  return (
    `<figure style="margin: 0 0 1em 0"><figcaption><b>${escapeHtml(paper.title)}</b><br>` +
    `<i>${PAPER}</i>: ${escapeHtml(paper.source)}. <i>${OURS}</i>: computed by simclip on ${escapeHtml(opts.setup)}.${units}</figcaption>` +
    `${body}${list}</figure>`
  );
}

/** An experiment's table beside the paper's, captioned with its setup, with its notes. */
export function experimentHtml(table: ExperimentTable, opts: { digits?: number } = {}): string {
  return comparisonHtml(PAPER_TABLES[table.id], table.rows, { setup: table.setup, notes: table.notes, ...opts });
}

export function showExperiment(table: ExperimentTable, opts: { digits?: number } = {}): void {
  showHtml(experimentHtml(table, opts));
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
    if (typeof row.key[k] !== "string")
      throw new InvalidArgumentError(`${where}: key column "${k}" is missing; ${paper.id} rows are identified by ${paper.keys.join(", ")}`);
  }
  for (const [m, v] of Object.entries(row.values)) {
    if (!paper.metrics.includes(m)) throw new InvalidArgumentError(`${where}: metric "${m}" is not a column of ${paper.id} (${paper.metrics.join(", ")})`);
    if (v !== null && paper.unit === "percent" && !(v >= 0 && v <= 1)) {
      throw new InvalidArgumentError(`${where}: "${m}" = ${v}, expected a fraction in [0, 1] as the metrics functions return (the table shows it x 100)`);
    }
  }
}
