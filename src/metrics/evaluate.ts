/**
 * Per-category evaluation as every peer reports it: each metric computed within each category
 * (class), then the unweighted mean over categories (macro). Micro-averaging over a whole dataset
 * changes VisA I-AUROC by several points, so no pooled numbers are offered.
 */
import { MetricInputError, MetricUndefinedError } from "./errors.js";
import { averagePrecision, imageAuroc } from "./image-metrics.js";
import { flattenImage, requireBinary, requireFinite } from "./inputs.js";
import { PixelAccumulator, type AuproOptions, type ProOptions } from "./pixel-accumulator.js";
import type { MetricImage, ScoreMap } from "./types.js";
import { startProgress } from "../progress.js";

export const IMAGE_METRIC_NAMES = ["i_auroc", "i_ap"] as const;
/** p_pro is cal_pro_score (the papers' "PRO"/"AUPRO"); p_aupro the exact MVTec AD AUPRO@0.3. */
export const PIXEL_METRIC_NAMES = ["p_auroc", "p_pro", "p_aupro", "p_f1_max"] as const;
export type MetricName = (typeof IMAGE_METRIC_NAMES)[number] | (typeof PIXEL_METRIC_NAMES)[number];
/** What the SimCLIP paper's tables report. */
export const DEFAULT_CATEGORY_METRICS: readonly MetricName[] = ["i_auroc", "i_ap", "p_auroc", "p_pro"];

export interface EvaluationOptions {
  metrics?: readonly MetricName[];
  pro?: ProOptions;
  aupro?: AuproOptions;
}

export interface EvaluationRecord {
  category: string;
  label: number;
  score: number;
  /** 0/1 ground truth; null or omitted for a defect-free image means all zeros. */
  mask?: MetricImage | null;
  map?: MetricImage | null;
}

export interface EvaluationTable {
  metrics: MetricName[];
  /** In the order categories were first added. */
  categories: string[];
  /** Fractions in [0, 1]; NaN where the metric is undefined for that category (see `notes`). */
  perCategory: Record<string, Record<MetricName, number>>;
  /** Unweighted mean over categories; NaN if any category's value is NaN. */
  mean: Record<MetricName, number>;
  /** Why any value is NaN. */
  notes: string[];
}

interface OpenCategory {
  labels: number[];
  scores: number[];
  pixels: PixelAccumulator | undefined;
  withoutMap: number;
}

/**
 * Streams (category, label, score, mask, map) records; pixel data is reduced on `add` (see
 * PixelAccumulator), and `closeCategory` computes a category's metrics and frees its pixels, so that
 * evaluating a dataset category by category holds one category's pixels at a time.
 */
export class CategoryEvaluator {
  private readonly metrics: MetricName[];
  private readonly open = new Map<string, OpenCategory>();
  private readonly rows = new Map<string, Record<MetricName, number>>();
  private readonly order: string[] = [];
  private readonly notes: string[] = [];
  private records = 0;

  constructor(private readonly opts: EvaluationOptions = {}) {
    this.metrics = [...(opts.metrics ?? DEFAULT_CATEGORY_METRICS)];
    for (const m of this.metrics) {
      if (![...IMAGE_METRIC_NAMES, ...PIXEL_METRIC_NAMES].includes(m)) {
        throw new MetricInputError("metrics", undefined, `unknown metric "${m}"; known: ${[...IMAGE_METRIC_NAMES, ...PIXEL_METRIC_NAMES].join(", ")}`);
      }
    }
  }

  private get wantsPixels(): boolean {
    return this.metrics.some((m) => (PIXEL_METRIC_NAMES as readonly string[]).includes(m));
  }

  add(category: string, label: number, score: number, mask?: MetricImage | null, map?: MetricImage | null): void {
    const index = this.records++;
    if (this.rows.has(category)) {
      throw new MetricInputError("category", index, `"${category}" was already closed (closeCategory); add all of a category's records before closing it`);
    }
    requireBinary([label], "label", index);
    requireFinite([score], "score", index);
    let cat = this.open.get(category);
    if (cat === undefined) {
      cat = { labels: [], scores: [], pixels: undefined, withoutMap: 0 };
      this.open.set(category, cat);
      this.order.push(category);
    }
    cat.labels.push(label);
    cat.scores.push(score);
    if (!this.wantsPixels) return;
    if (map === undefined || map === null) {
      if (cat.pixels !== undefined) throw mixedMaps(category, index);
      cat.withoutMap++;
      return;
    }
    if (cat.withoutMap > 0) throw mixedMaps(category, index);
    cat.pixels ??= new PixelAccumulator();
    if (mask === undefined || mask === null) {
      if (label === 1) {
        throw new MetricInputError("mask", index, `record of "${category}" has label 1 and a map but no mask; pixel metrics need the defect's ground truth`);
      }
      const { height, width } = flattenImage(map, "map", index);
      mask = { data: new Uint8Array(height * width), height, width } satisfies ScoreMap;
    }
    cat.pixels.add(mask, map, index);
  }

  /** Computes the category's metrics now and releases its pixel data. */
  closeCategory(category: string): void {
    const cat = this.open.get(category);
    if (cat === undefined) {
      if (this.rows.has(category)) return;
      throw new MetricInputError("category", undefined, `"${category}" has no records`);
    }
    const row = {} as Record<MetricName, number>;
    for (const m of this.metrics) row[m] = this.compute(category, m, cat);
    this.rows.set(category, row);
    this.open.delete(category);
  }

  private compute(category: string, metric: MetricName, cat: OpenCategory): number {
    const px = cat.pixels;
    try {
      switch (metric) {
        case "i_auroc":
          return imageAuroc(cat.labels, cat.scores);
        case "i_ap":
          if (!cat.labels.includes(1)) {
            this.notes.push(`${category} i_ap: no anomalous image; 0 as scikit-learn 1.2.1 returns (mathematically undefined)`);
          }
          return averagePrecision(cat.labels, cat.scores);
        default:
          if (px === undefined) {
            this.notes.push(`${category} ${metric}: no anomaly maps were given for this category`);
            return NaN;
          }
          if (metric === "p_auroc") return px.pixelAuroc();
          if (metric === "p_pro") return px.pro(this.opts.pro);
          if (metric === "p_aupro") return px.aupro(this.opts.aupro);
          return px.f1Max();
      }
    } catch (err) {
      if (!(err instanceof MetricUndefinedError)) throw err;
      this.notes.push(`${category} ${metric}: ${err.message}`);
      return NaN;
    }
  }

  /** Closes every open category and returns the table with the macro mean. */
  result(): EvaluationTable {
    const pending = [...this.open.keys()];
    const progress = startProgress("metrics", pending.length);
    pending.forEach((c, i) => {
      this.closeCategory(c);
      progress.update(i + 1, { category: c });
    });
    progress.stop();
    if (this.order.length === 0) throw new MetricInputError("records", undefined, "is empty; nothing to evaluate");
    // closeCategory above moved every category of this.order into this.rows.
    const entries = this.order.map((c) => [c, this.rows.get(c)!] as const);
    const perCategory: Record<string, Record<MetricName, number>> = Object.fromEntries(entries);
    const mean = {} as Record<MetricName, number>;
    for (const m of this.metrics) mean[m] = entries.reduce((s, [, row]) => s + row[m], 0) / entries.length;
    return { metrics: [...this.metrics], categories: [...this.order], perCategory, mean, notes: [...this.notes] };
  }
}

function mixedMaps(category: string, index: number): MetricInputError {
  return new MetricInputError("map", index, `category "${category}" has records with and without anomaly maps; give a map for every record or for none`);
}

/** Evaluates records held in memory (see CategoryEvaluator to stream them). */
export function evaluatePerCategory(records: Iterable<EvaluationRecord>, opts: EvaluationOptions = {}): EvaluationTable {
  const ev = new CategoryEvaluator(opts);
  for (const r of records) ev.add(r.category, r.label, r.score, r.mask, r.map);
  return ev.result();
}

/** Plain-text table (categories x metrics, then the mean), in percent with `digits` decimals as the papers print. */
export function formatMetricTable(table: EvaluationTable, opts: { digits?: number; percent?: boolean } = {}): string {
  const digits = opts.digits ?? 1;
  const scale = opts.percent === false ? 1 : 100;
  const fmt = (v: number) => (Number.isNaN(v) ? "-" : (v * scale).toFixed(digits));
  const row = (c: string): Record<MetricName, number> => {
    const r = table.perCategory[c];
    if (r === undefined) {
      throw new MetricInputError("table.perCategory", undefined, `has no row for category "${c}" of table.categories`);
    }
    return r;
  };
  const header = ["category", ...table.metrics];
  const rows = [
    header,
    ...table.categories.map((c) => [c, ...table.metrics.map((m) => fmt(row(c)[m]))]),
    ["mean", ...table.metrics.map((m) => fmt(table.mean[m]))],
  ];
  // Every row has header.length cells.
  const widths = header.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  const line = (r: string[]) => r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join("  ");
  const out = rows.map(line);
  out.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  out.splice(out.length - 1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  return [...out, ...table.notes.map((n) => `note: ${n}`)].join("\n");
}
