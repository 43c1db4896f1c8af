import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { ShapeError } from "../../src/errors.js";
import { lineChartSpec, prChartSpec, renderSvg, rocChartSpec, scatterChartSpec, svgToPng } from "../../src/viz/charts.js";
import { jetColor } from "../../src/viz/colormap.js";
import { prCurve, rocCurve } from "../../src/viz/curves.js";
import { heatmapGridPng, type HeatmapRow } from "../../src/viz/heatmap-grid.js";
import { colorize, normalizeMap, type RgbImage } from "../../src/viz/image.js";
import { tsne2d } from "../../src/viz/tsne.js";
import { at } from "../at.js";

function gradientImage(size: number): RgbImage {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) data.set([(i * 7) % 256, (i * 3) % 256, 200], i * 3);
  return { data, width: size, height: size };
}

async function pixel(png: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const o = (y * info.width + x) * info.channels;
  return [at(data, o), at(data, o + 1), at(data, o + 2)];
}

test("normalizeMap and colorize follow APRIL-GAN's min-max + 0.5 blend", () => {
  assert.deepEqual(Array.from(normalizeMap([2, 4, 3])), [0, 1, 0.5]);
  assert.deepEqual(Array.from(normalizeMap([5, 5])), [0, 0]);
  assert.deepEqual(Array.from(normalizeMap([0, 10], [0, 5])), [0, 1]);
  const base: RgbImage = { data: new Uint8Array([100, 50, 0]), width: 1, height: 1 };
  const [r, g, b] = jetColor(1);
  assert.deepEqual(Array.from(colorize(new Float32Array([1]), 1, 1, base).data), [Math.floor(50 + r / 2), Math.floor(25 + g / 2), Math.floor(b / 2)]);
  assert.throws(() => colorize(new Float32Array(3), 2, 2), ShapeError);
});

test("heatmapGridPng: a valid PNG of rows x (2 + maps) cells with the right pixels", async () => {
  const size = 16;
  const image = gradientImage(size);
  const mask = new Uint8Array(size * size);
  mask[5 * size + 9] = 1;
  const map = new Float32Array(size * size);
  map[3 * size + 2] = 10;
  const rows: HeatmapRow[] = [
    { label: "a", image, mask, maps: [map, map] },
    { label: "b", image, mask: null, maps: [map, new Float32Array(size * size)] },
  ];
  const png = await heatmapGridPng(rows, { cellSize: 32, gap: 4, labels: false });
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, "png");
  assert.equal(meta.width, 4 * 32 + 3 * 4);
  assert.equal(meta.height, 2 * 32 + 4);
  // Cells are upscaled x2 with nearest neighbour: source pixel (x, y) covers (2x..2x+1, 2y..2y+1).
  assert.deepEqual(await pixel(png, 36 + 2 * 9, 2 * 5), [255, 255, 255], "mask pixel is white");
  assert.deepEqual(await pixel(png, 36 + 2 * 8, 2 * 5), [0, 0, 0], "non-mask pixel is black");
  assert.deepEqual(await pixel(png, 36 + 2 * 9, 36 + 2 * 5), [0, 0, 0], "normal image: empty ground truth");
  const i = 3 * size + 2;
  const [r, g, b] = jetColor(1);
  const expected = [
    Math.floor(at(image.data, i * 3) / 2 + r / 2),
    Math.floor(at(image.data, i * 3 + 1) / 2 + g / 2),
    Math.floor(at(image.data, i * 3 + 2) / 2 + b / 2),
  ];
  assert.deepEqual(await pixel(png, 72 + 2 * 2, 2 * 3), expected, "map maximum is jet(1) over the image");
  assert.deepEqual(await pixel(png, 0, 0), Array.from(image.data.subarray(0, 3)), "first cell is the image");
  assert.deepEqual(await pixel(png, 33, 0), [255, 255, 255], "gap is white");

  const labelled = await heatmapGridPng(rows, { cellSize: 32, gap: 4, mapLabels: ["A", "B"] });
  const lm = await sharp(labelled).metadata();
  assert.deepEqual([lm.width, lm.height], [160 + 4 * 32 + 3 * 4, 24 + 2 * 32 + 4], "title strip 24 px, label strip 160 px");
  assert.deepEqual(await pixel(labelled, 160 + 36 + 2 * 9, 24 + 2 * 5), [255, 255, 255], "cells shifted by the strips");
  const { data, info } = await sharp(labelled).extract({ left: 0, top: 0, width: lm.width, height: 24 }).raw().toBuffer({ resolveWithObject: true });
  assert.ok(
    data.some((v, i) => i % info.channels === 0 && v < 128),
    "column titles are drawn in the title strip",
  );
});

test("heatmapGridPng rejects maps at the wrong size and uneven rows", async () => {
  const image = gradientImage(4);
  await assert.rejects(heatmapGridPng([{ image, mask: null, maps: [new Float32Array(15)] }]), ShapeError);
  await assert.rejects(
    heatmapGridPng([
      { image, mask: null, maps: [new Float32Array(16)] },
      { image, mask: null, maps: [] },
    ]),
    ShapeError,
  );
});

test("vega-lite charts render to SVG and PNG of exactly the requested size", async () => {
  const labels = [1, 0, 1, 0, 1, 0];
  const scores = [0.9, 0.8, 0.7, 0.3, 0.2, 0.1];
  const specs = [
    lineChartSpec([{ name: "train loss", x: [0, 1, 2], y: [1, 0.5, 0.25] }], { width: 300, height: 200 }),
    rocChartSpec([{ name: "SimCLIP", roc: rocCurve(labels, scores) }], { width: 300, height: 200 }),
    prChartSpec([{ name: "SimCLIP", pr: prCurve(labels, scores) }], { width: 300, height: 200 }),
    scatterChartSpec(
      [
        { x: 0, y: 1, group: "bottle", kind: "normal" },
        { x: 1, y: 0, group: "cable", kind: "anomalous" },
      ],
      { width: 300, height: 200 },
    ),
  ];
  for (const spec of specs) {
    const svg = await renderSvg(spec);
    assert.match(svg, /^<svg[^>]* width="300" height="200"/);
    const png = await svgToPng(svg);
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ["png", 300, 200]);
  }
  const svg = await renderSvg(at(specs, 0));
  assert.ok(svg.includes("train loss"), "legend names the series");
  assert.throws(() => lineChartSpec([{ name: "x", x: [1, 2], y: [1] }]), ShapeError);
});

test("tsne2d separates two distant clusters and is reproducible from its seed", () => {
  const n = 24;
  const dim = 8;
  const data = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) data[i * dim + d] = (i < n / 2 ? 0 : 20) + Math.sin(i * 13.1 + d * 7.7);
  const y = tsne2d(data, n, dim, { perplexity: 5, iterations: 300, seed: 1 });
  assert.equal(y.length, n);
  for (const [i, [xi, yi]] of y.entries()) {
    let best = -1;
    let bestD = Infinity;
    for (const [j, [xj, yj]] of y.entries()) {
      if (j === i) continue;
      const d = (xi - xj) ** 2 + (yi - yj) ** 2;
      if (d < bestD) [best, bestD] = [j, d];
    }
    assert.equal(best < n / 2, i < n / 2, `nearest neighbour of point ${i} is in the other cluster`);
  }
  assert.deepEqual(tsne2d(data, n, dim, { perplexity: 5, iterations: 300, seed: 1 }), y);
  assert.throws(() => tsne2d(data, n, dim + 1), ShapeError);
});
