/** Figure files: charts as SVG + PNG, heatmap grids as PNG, named `<dir>/<name>.<ext>`. */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { renderSvg, svgToPng } from "./charts.js";
import { heatmapGridPng, type HeatmapGridOptions, type HeatmapRow } from "./heatmap-grid.js";

export async function writeChartFiles(dir: string, name: string, spec: TopLevelSpec): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const svg = await renderSvg(spec);
  const svgFile = path.join(dir, `${name}.svg`);
  const pngFile = path.join(dir, `${name}.png`);
  await writeFile(svgFile, svg);
  await writeFile(pngFile, await svgToPng(svg));
  return [svgFile, pngFile];
}

export async function writeHeatmapGridFile(dir: string, name: string, rows: HeatmapRow[], opts: HeatmapGridOptions = {}): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await writeFile(file, await heatmapGridPng(rows, opts));
  return [file];
}
