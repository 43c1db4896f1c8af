/**
 * Inputs of the metrics: an image-sized anomaly map or ground-truth mask, either as a flat row-major
 * typed array with its size (`ScoreMap`) or as nested rows (`number[][]`).
 */
export interface ScoreMap {
  data: Float32Array | Float64Array | Uint8Array | ArrayLike<number>;
  height: number;
  width: number;
}

export type MetricImage = ScoreMap | ArrayLike<ArrayLike<number>>;

/** Image-level inputs: one label (0/1) or score per image. */
export type MetricVector = ArrayLike<number>;
