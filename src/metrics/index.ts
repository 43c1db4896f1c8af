export { MetricInputError, MetricUndefinedError } from "./errors.js";
export type { ScoreMap, MetricImage, MetricVector } from "./types.js";
export { imageAuroc, averagePrecision } from "./image-metrics.js";
export { pixelAuroc, pro, aupro, f1Max } from "./pixel-metrics.js";
export { PixelAccumulator, type ProOptions, type AuproOptions } from "./pixel-accumulator.js";
export type { ProCurve } from "./pro.js";
export { labelRegions8, type MaskRegions } from "./connected-components.js";
export {
  CategoryEvaluator,
  evaluatePerCategory,
  formatMetricTable,
  DEFAULT_CATEGORY_METRICS,
  IMAGE_METRIC_NAMES,
  PIXEL_METRIC_NAMES,
  type MetricName,
  type EvaluationOptions,
  type EvaluationRecord,
  type EvaluationTable,
} from "./evaluate.js";
