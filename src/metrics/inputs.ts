/** Validation and flattening of metric inputs; every error names the argument and the index. */
import { MetricInputError } from "./errors.js";
import type { MetricImage, MetricVector, ScoreMap } from "./types.js";

export interface FlatImage {
  data: ArrayLike<number>;
  height: number;
  width: number;
}

function isScoreMap(img: MetricImage): img is ScoreMap {
  return typeof img === "object" && img !== null && "data" in img && "height" in img && "width" in img;
}

/** A `ScoreMap` as is (size checked) or nested rows copied into a Float64Array. */
export function flattenImage(img: MetricImage, argument: string, index: number): FlatImage {
  if (isScoreMap(img)) {
    const { data, height, width } = img;
    if (!Number.isInteger(height) || !Number.isInteger(width) || height <= 0 || width <= 0) {
      throw new MetricInputError(argument, index, `height and width must be positive integers, got ${height} x ${width}`);
    }
    if (data.length !== height * width) {
      throw new MetricInputError(argument, index, `data has ${data.length} values but height x width = ${height} x ${width} = ${height * width}`);
    }
    return { data, height, width };
  }
  if (img === null || typeof img !== "object" || typeof img.length !== "number") {
    throw new MetricInputError(argument, index, `expected { data, height, width } or nested rows (number[][]), got ${typeof img}`);
  }
  const height = img.length;
  const width = height > 0 ? img[0]!.length : 0;
  if (height === 0 || width === 0 || typeof width !== "number") {
    throw new MetricInputError(argument, index, `expected a non-empty 2-D array of rows, got ${height} rows`);
  }
  const data = new Float64Array(height * width);
  for (let y = 0; y < height; y++) {
    const row = img[y];
    if (row === null || typeof row !== "object" || row.length !== width) {
      throw new MetricInputError(argument, index, `row ${y} has ${row?.length} values, row 0 has ${width}; rows must be equally long`);
    }
    for (let x = 0; x < width; x++) data[y * width + x] = row[x]!;
  }
  return { data, height, width };
}

export function requireFinite(values: ArrayLike<number>, argument: string, index: number | undefined, width?: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      const where = width === undefined ? `value ${i}` : `pixel (row ${Math.floor(i / width)}, col ${i % width})`;
      throw new MetricInputError(
        argument,
        index,
        `${where} is ${v}; scores must be finite numbers (check for NaN from a division by zero or an empty softmax)`,
      );
    }
  }
}

export function requireBinary(values: ArrayLike<number>, argument: string, index: number | undefined, width?: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== 0 && v !== 1) {
      const where = width === undefined ? `value ${i}` : `pixel (row ${Math.floor(i / width)}, col ${i % width})`;
      throw new MetricInputError(argument, index, `${where} is ${v}; expected 0 or 1 (binarise masks first, e.g. > 0 or >= 0.5 after resizing)`);
    }
  }
}

export function requireSameLength(aName: string, a: { length: number }, bName: string, b: { length: number }): void {
  if (a.length !== b.length) {
    throw new MetricInputError(bName, undefined, `has ${b.length} entries but ${aName} has ${a.length}; they must pair up one to one`);
  }
  if (a.length === 0) throw new MetricInputError(aName, undefined, "is empty; at least one sample is needed");
}

/** Splits image-level scores by label into two Float64Arrays (unsorted). */
export function splitByLabel(labels: MetricVector, scores: MetricVector): { neg: Float64Array; pos: Float64Array } {
  requireSameLength("labels", labels, "scores", scores);
  requireBinary(labels, "labels", undefined);
  requireFinite(scores, "scores", undefined);
  let nPos = 0;
  for (let i = 0; i < labels.length; i++) nPos += labels[i]!;
  const neg = new Float64Array(labels.length - nPos);
  const pos = new Float64Array(nPos);
  let a = 0;
  let b = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) pos[b++] = scores[i]!;
    else neg[a++] = scores[i]!;
  }
  return { neg, pos };
}
