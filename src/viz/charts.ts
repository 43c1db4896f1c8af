/**
 * Line and scatter charts as SVG (and PNG) without a browser: a vega-lite spec compiled to vega and
 * rendered headless by vega's SVG renderer; sharp (librsvg) turns the SVG into PNG. Sizes are exact
 * (`autosize: fit`), so a chart of width x height is a width x height image.
 *
 * vega and vega-lite are imported when a chart is rendered, not with simclip: vega-canvas has a
 * top-level await, and an ES module graph with one cannot be loaded through require(), which is how
 * the tslab kernel loads simclip.
 */
import sharp from "sharp";
import type { TopLevelSpec } from "vega-lite";
import { ShapeError } from "../errors.js";
import type { PrCurve, RocCurve } from "./curves.js";

export interface LineSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

export interface ChartOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  width?: number;
  height?: number;
  /** Fixed axis domains (e.g. [0, 1] for ROC). */
  xDomain?: [number, number];
  yDomain?: [number, number];
}

export interface ScatterPoint {
  x: number;
  y: number;
  /** Colour group (e.g. class name). */
  group: string;
  /** Marker shape group (e.g. "normal prompt" / "anomalous prompt"). */
  kind?: string;
}

function frame(opts: ChartOptions) {
  return {
    width: opts.width ?? 480,
    height: opts.height ?? 360,
    autosize: { type: "fit" as const, contains: "padding" as const },
    background: "white",
    ...(opts.title === undefined ? {} : { title: opts.title }),
  };
}

function scale(domain?: [number, number]): { zero: boolean } | { domain: [number, number] } {
  return domain === undefined ? { zero: false } : { domain };
}

/** Several named series as lines; points are joined in the order given (ROC steps stay steps). */
export function lineChartSpec(series: LineSeries[], opts: ChartOptions = {}): TopLevelSpec {
  const values: { series: string; i: number; x: number; y: number }[] = [];
  for (const s of series) {
    if (s.x.length !== s.y.length) throw new ShapeError(`lineChartSpec: series "${s.name}" has ${s.x.length} x values but ${s.y.length} y values`);
    for (let i = 0; i < s.x.length; i++) values.push({ series: s.name, i, x: s.x[i]!, y: s.y[i]! });
  }
  return {
    ...frame(opts),
    data: { values },
    mark: { type: "line", clip: true },
    encoding: {
      x: { field: "x", type: "quantitative", title: opts.xTitle ?? "x", scale: scale(opts.xDomain) },
      y: { field: "y", type: "quantitative", title: opts.yTitle ?? "y", scale: scale(opts.yDomain) },
      color: { field: "series", type: "nominal", title: null },
      order: { field: "i", type: "quantitative" },
    },
  };
}

export function scatterChartSpec(points: ScatterPoint[], opts: ChartOptions = {}): TopLevelSpec {
  return {
    ...frame(opts),
    data: { values: points.map((p) => ({ ...p, kind: p.kind ?? "" })) },
    mark: { type: "point", filled: true, size: 40 },
    encoding: {
      x: { field: "x", type: "quantitative", title: opts.xTitle ?? "", scale: scale(opts.xDomain) },
      y: { field: "y", type: "quantitative", title: opts.yTitle ?? "", scale: scale(opts.yDomain) },
      color: { field: "group", type: "nominal", title: null },
      shape: { field: "kind", type: "nominal", title: null },
    },
  };
}

export function rocChartSpec(curves: { name: string; roc: RocCurve }[], opts: ChartOptions = {}): TopLevelSpec {
  return lineChartSpec(
    curves.map((c) => ({ name: c.name, x: c.roc.fpr, y: c.roc.tpr })),
    { xTitle: "false positive rate", yTitle: "true positive rate", xDomain: [0, 1], yDomain: [0, 1], ...opts },
  );
}

export function prChartSpec(curves: { name: string; pr: PrCurve }[], opts: ChartOptions = {}): TopLevelSpec {
  return lineChartSpec(
    curves.map((c) => ({ name: c.name, x: c.pr.recall, y: c.pr.precision })),
    { xTitle: "recall", yTitle: "precision", xDomain: [0, 1], yDomain: [0, 1], ...opts },
  );
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}
