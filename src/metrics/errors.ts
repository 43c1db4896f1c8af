import { SimclipError } from "../errors.js";

/**
 * Input a metric cannot be computed on: lengths or sizes that disagree, NaN/Infinity, labels or mask
 * values other than 0/1, empty input. `argument` names the argument and `index` the sample or image.
 */
export class MetricInputError extends SimclipError {
  override name = "MetricInputError";
  constructor(
    readonly argument: string,
    readonly index: number | undefined,
    detail: string,
  ) {
    super(`${argument}${index === undefined ? "" : `[${index}]`}: ${detail}`);
  }
}

/**
 * Valid input on which the metric is undefined, where scikit-learn / the reference code raises:
 * one class only ("Only one class present in y_true"), a constant anomaly map for PRO, no defect region.
 */
export class MetricUndefinedError extends SimclipError {
  override name = "MetricUndefinedError";
  constructor(
    readonly metric: string,
    detail: string,
  ) {
    super(`${metric} is undefined: ${detail}`);
  }
}
