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
}

/** Colours of each cell of a row: image, ground truth, then each map. */
export function heatmapRowCells(row: HeatmapRow, opts: HeatmapGridOptions = {}): RgbImage[] {
  const { width, height } = row.image;
  const mask = row.mask ?? new Uint8Array(width * height);
  if (mask.length !== width * height) throw new ShapeError(`heatmap row "${row.label ?? ""}": mask has ${mask.length} values, image is ${width} x ${height}`);
  const maps = row.maps.map((m, k) => {
    if (m.length !== width * height) throw new ShapeError(`heatmap row "${row.label ?? ""}": map ${k} has ${m.length} values, image is ${width} x ${height}; upsample maps to the image size`);
    return colorize(normalizeMap(m, opts.range), width, height, opts.noOverlay ? undefined : row.image);
  });
  return [row.image, maskImage(mask, width, height), ...maps];
}

/** The grid as PNG bytes: rows x (2 + maps) square cells of `cellSize`, `gap` apart, white background. */
export async function heatmapGridPng(rows: HeatmapRow[], opts: HeatmapGridOptions = {}): Promise<Buffer> {
  if (rows.length === 0) throw new ShapeError("heatmapGridPng: no rows given");
  const cols = 2 + rows[0].maps.length;
  const cell = opts.cellSize ?? rows[0].image.width;
  const gap = opts.gap ?? 4;
  const composites: sharp.OverlayOptions[] = [];
  for (let r = 0; r < rows.length; r++) {
    const cells = heatmapRowCells(rows[r], opts);
    if (cells.length !== cols) throw new ShapeError(`heatmapGridPng: row ${r} has ${cells.length - 2} maps, row 0 has ${cols - 2}; every row needs the same methods`);
    for (let c = 0; c < cols; c++) {
      const img = cells[c];
      const input = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
        .resize(cell, cell, { fit: "fill", kernel: "nearest" })
        .png()
        .toBuffer();
      composites.push({ input, left: c * (cell + gap), top: r * (cell + gap) });
    }
  }
  return sharp({
    create: { width: cols * cell + (cols - 1) * gap, height: rows.length * cell + (rows.length - 1) * gap, channels: 3, background: { r: 255, g: 255, b: 255 } },
  })
    .composite(composites)
    .png()
    .toBuffer();
}
