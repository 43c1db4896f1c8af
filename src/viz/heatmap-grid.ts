/**
 * The qualitative figure of the paper (Figures 2 and 4): one row per test image, columns image /
 * ground truth / one anomaly map per method, maps coloured in jet over the image. Written as PNG with
 * sharp (a raster: SVG would only wrap the same pixels).
 */
import sharp from "sharp";
import { ShapeError } from "../errors.js";
import { colorize, maskImage, normalizeMap, type RgbImage } from "./image.js";

export interface HeatmapRow {
  /** Shown at the left of the row in notebooks (e.g. "wood / scratch"). */
  label?: string;
  image: RgbImage;
  /** Ground truth, 0/1 per pixel at the image size; null for a normal image (an all-black cell). */
  mask: Uint8Array | null;
  /** One anomaly map per column, each at the image size (width * height values). */
  maps: Float32Array[];
}

export interface HeatmapGridOptions {
  /** Column titles after "image" and "ground truth", one per map. */
  mapLabels?: string[];
  /** Per-map min-max (APRIL-GAN's visualisation, the default) or one fixed [min, max] for all maps. */
  range?: [number, number];
  /** Side of each square cell in pixels; defaults to the first image's width. */
  cellSize?: number;
  /** Pixels between cells. */
  gap?: number;
  /** Colour the map alone instead of over the image. */
  noOverlay?: boolean;
  /** PNG only: a title strip above the columns and the row labels at the left (default true). */
  labels?: boolean;
}

/** Height of the column-title strip and width of the row-label strip, in pixels. */
export const HEATMAP_TITLE_HEIGHT = 24;
export const HEATMAP_LABEL_WIDTH = 160;

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Text drawn by librsvg through sharp (DejaVu Sans where installed, any sans-serif otherwise). */
function textSvg(width: number, height: number, items: { x: number; y: number; text: string; anchor: "start" | "middle" | "end" }[]): Buffer {
  const texts = items.map((t) => `<text x="${t.x}" y="${t.y}" text-anchor="${t.anchor}">${escapeXml(t.text)}</text>`).join("");
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><g font-family="DejaVu Sans, sans-serif" font-size="13" fill="#222">${texts}</g></svg>`,
  );
}

/** Colours of each cell of a row: image, ground truth, then each map. */
export function heatmapRowCells(row: HeatmapRow, opts: HeatmapGridOptions = {}): RgbImage[] {
  const { width, height } = row.image;
  const mask = row.mask ?? new Uint8Array(width * height);
  if (mask.length !== width * height) throw new ShapeError(`heatmap row "${row.label ?? ""}": mask has ${mask.length} values, image is ${width} x ${height}`);
  const maps = row.maps.map((m, k) => {
    if (m.length !== width * height)
      throw new ShapeError(`heatmap row "${row.label ?? ""}": map ${k} has ${m.length} values, image is ${width} x ${height}; upsample maps to the image size`);
    return colorize(normalizeMap(m, opts.range), width, height, opts.noOverlay ? undefined : row.image);
  });
  return [row.image, maskImage(mask, width, height), ...maps];
}

/**
 * The grid as PNG bytes: rows x (2 + maps) square cells of `cellSize`, `gap` apart, on white; with
 * labels, a HEATMAP_TITLE_HEIGHT strip of column titles on top and a HEATMAP_LABEL_WIDTH strip of row
 * labels at the left.
 */
export async function heatmapGridPng(rows: HeatmapRow[], opts: HeatmapGridOptions = {}): Promise<Buffer> {
  const [first] = rows;
  if (first === undefined) throw new ShapeError("heatmapGridPng: expected at least one row (an image with its maps), got none");
  const cols = 2 + first.maps.length;
  const cell = opts.cellSize ?? first.image.width;
  const gap = opts.gap ?? 4;
  const labels = opts.labels ?? true;
  const left = labels ? HEATMAP_LABEL_WIDTH : 0;
  const top = labels ? HEATMAP_TITLE_HEIGHT : 0;
  const width = left + cols * cell + (cols - 1) * gap;
  const height = top + rows.length * cell + (rows.length - 1) * gap;
  const composites: sharp.OverlayOptions[] = [];
  for (const [r, row] of rows.entries()) {
    const cells = heatmapRowCells(row, opts);
    if (cells.length !== cols)
      throw new ShapeError(`heatmapGridPng: row ${r} has ${cells.length - 2} maps, row 0 has ${cols - 2}; every row needs the same methods`);
    for (const [c, img] of cells.entries()) {
      const input = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
        .resize(cell, cell, { fit: "fill", kernel: "nearest" })
        .png()
        .toBuffer();
      composites.push({ input, left: left + c * (cell + gap), top: top + r * (cell + gap) });
    }
  }
  if (labels) {
    const titles = ["image", "ground truth", ...first.maps.map((_, k) => opts.mapLabels?.[k] ?? `map ${k + 1}`)];
    const items: Parameters<typeof textSvg>[2] = titles.map((text, c) => ({ x: left + c * (cell + gap) + cell / 2, y: 17, text, anchor: "middle" }));
    rows.forEach((row, r) => {
      items.push({ x: left - 8, y: top + r * (cell + gap) + cell / 2 + 5, text: row.label ?? "", anchor: "end" });
    });
    composites.push({ input: textSvg(width, height, items), left: 0, top: 0 });
  }
  return sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(composites)
    .png()
    .toBuffer();
}
