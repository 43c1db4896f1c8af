/**
 * Plotly figure builders for the paper's artefacts: heatmap grids (Figures 2 and 4), ROC / PR
 * curves, loss curves and the t-SNE scatter of Figure 5. Each returns a PlotlyFigure; `showPlotly`
 * displays it. Titles are `{ text }` objects: plotly.js 3+ ignores plain-string titles.
 */
import sharp from "sharp";
import { ShapeError } from "../errors.js";
import type { PrCurve, RocCurve } from "../viz/curves.js";
import { heatmapRowCells, type HeatmapGridOptions, type HeatmapRow } from "../viz/heatmap-grid.js";
import type { LineSeries, ScatterPoint } from "../viz/charts.js";
import { escapeHtml } from "./html.js";
import type { PlotlyFigure } from "./plotly.js";

/** A title with what the figure was computed on (`setupLabel`) as its subtitle: every figure says it. */
export function figureTitle(title: string, setup: string): string {
  return `${escapeHtml(title)}<br><sub>${escapeHtml(setup)}</sub>`;
}

async function dataUri(img: { data: Uint8Array; width: number; height: number }): Promise<string> {
  const png = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString("base64")}`;
}

/** Block-average a width x height map down to at most `max` per side, to keep hover data small. */
function downsample(map: Float32Array, width: number, height: number, max: number): number[][] {
  const f = Math.max(1, Math.ceil(Math.max(width, height) / max));
  const w = Math.ceil(width / f);
  const h = Math.ceil(height / f);
  const z: number[][] = [];
  for (let y = 0; y < h; y++) {
    const row: number[] = [];
    for (let x = 0; x < w; x++) {
      let s = 0;
      let c = 0;
      for (let yy = y * f; yy < Math.min(height, (y + 1) * f); yy++) {
        for (let xx = x * f; xx < Math.min(width, (x + 1) * f); xx++) {
          s += map[yy * width + xx]!;
          c++;
        }
      }
      row.push(s / c);
    }
    z.push(row);
  }
  return z;
}

/**
 * Image / ground truth / maps per row as pictures (jet over the image, as in the PNG), and under each
 * map an invisible heatmap of the raw scores so that hovering shows the anomaly score.
 */
export async function heatmapGridFigure(
  rows: HeatmapRow[],
  opts: HeatmapGridOptions & { title?: string; hoverResolution?: number } = {},
): Promise<PlotlyFigure> {
  const cols = 2 + (rows[0]?.maps.length ?? 0);
  const titles = ["image", "ground truth", ...(opts.mapLabels ?? rows[0]?.maps.map((_, k) => `map ${k + 1}`) ?? [])];
  const data: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = {
    ...(opts.title === undefined ? {} : { title: { text: opts.title } }),
    grid: { rows: rows.length, columns: cols, pattern: "independent" },
    // A title and its setup subtitle need room above the column labels.
    height: (opts.title === undefined ? 40 : 80) + 180 * rows.length,
    // Row labels sit left of the first column: about 7 px per character at plotly's default 12 px font.
    margin: { l: Math.max(90, 16 + 7 * Math.max(0, ...rows.map((r) => (r.label ?? "").length))), r: 10, t: opts.title === undefined ? 60 : 100, b: 10 },
    showlegend: false,
  };
  const annotations: Record<string, unknown>[] = [];
  for (const [r, row] of rows.entries()) {
    const cells = heatmapRowCells(row, opts);
    if (cells.length !== cols)
      throw new ShapeError(`heatmapGridFigure: row ${r} has ${cells.length - 2} maps, row 0 has ${cols - 2}; every row needs the same methods`);
    for (const [c, cell] of cells.entries()) {
      // Plotly names the axes of subplot n "x", "x2", "x3", ... (the first has no number).
      const n = r * cols + c + 1;
      const ax = n === 1 ? "" : String(n);
      data.push({ type: "image", source: await dataUri(cell), xaxis: `x${ax}`, yaxis: `y${ax}`, hoverinfo: "skip" });
      const map = c >= 2 ? row.maps[c - 2] : undefined;
      if (map !== undefined) {
        const { width, height } = row.image;
        const z = downsample(map, width, height, opts.hoverResolution ?? 64);
        // An image is at least one pixel high, so z has a first row.
        const f = width / z[0]!.length;
        data.push({
          type: "heatmap",
          z,
          x0: f / 2 - 0.5,
          dx: f,
          y0: f / 2 - 0.5,
          dy: f,
          opacity: 0,
          showscale: false,
          xaxis: `x${ax}`,
          yaxis: `y${ax}`,
          hovertemplate: `${titles[c]}: %{z:.4g}<extra></extra>`,
        });
      }
      layout[`xaxis${ax}`] = { visible: false };
      layout[`yaxis${ax}`] = { visible: false, scaleanchor: `x${ax}` };
      const at = { showarrow: false, xref: `x${ax} domain`, yref: `y${ax} domain` };
      if (r === 0) annotations.push({ ...at, text: titles[c], x: 0.5, y: 1.12 });
      if (c === 0) annotations.push({ ...at, text: row.label ?? "", x: -0.05, y: 0.5, xanchor: "right" });
    }
  }
  layout.annotations = annotations;
  return { data, layout };
}

function lines(series: LineSeries[], layout: Record<string, unknown>): PlotlyFigure {
  return {
    data: series.map((s) => ({ type: "scatter", mode: "lines", name: s.name, x: Array.from(s.x), y: Array.from(s.y) })),
    layout: { height: 420, ...layout },
  };
}

export function rocFigure(curves: { name: string; roc: RocCurve }[], title = "ROC"): PlotlyFigure {
  return lines(
    curves.map((c) => ({ name: c.name, x: c.roc.fpr, y: c.roc.tpr })),
    {
      title: { text: title },
      xaxis: { title: { text: "false positive rate" }, range: [0, 1] },
      yaxis: { title: { text: "true positive rate" }, range: [0, 1] },
    },
  );
}

export function prFigure(curves: { name: string; pr: PrCurve }[], title = "Precision-recall"): PlotlyFigure {
  return lines(
    curves.map((c) => ({ name: c.name, x: c.pr.recall, y: c.pr.precision })),
    {
      title: { text: title },
      xaxis: { title: { text: "recall" }, range: [0, 1] },
      yaxis: { title: { text: "precision" }, range: [0, 1.02] },
    },
  );
}

export function lossFigure(series: LineSeries[], title = "Training loss"): PlotlyFigure {
  return lines(series, { title: { text: title }, xaxis: { title: { text: "step" } }, yaxis: { title: { text: "loss" } } });
}

/** One trace per (group, kind): colour by group (class), marker by kind (normal / anomalous prompt). */
export function scatterFigure(points: ScatterPoint[], title = "t-SNE"): PlotlyFigure {
  const symbols = ["circle", "x", "diamond", "square", "triangle-up"];
  const kinds = [...new Set(points.map((p) => p.kind ?? ""))];
  const groups = new Map<string, ScatterPoint[]>();
  for (const p of points) {
    const k = `${p.group}\u0000${p.kind ?? ""}`;
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  return {
    data: [...groups.values()].map((ps) => {
      // A group holds at least the point that created it.
      const { group, kind } = ps[0]!;
      return {
        type: "scatter",
        mode: "markers",
        name: kind ? `${group} (${kind})` : group,
        legendgroup: group,
        x: ps.map((p) => p.x),
        y: ps.map((p) => p.y),
        marker: { size: 8, symbol: symbols[kinds.indexOf(kind ?? "") % symbols.length] },
      };
    }),
    layout: { title: { text: title }, height: 520, xaxis: { zeroline: false }, yaxis: { zeroline: false } },
  };
}
