/**
 * Per-region overlap metrics on sorted scores: the `cal_pro_score` PRO that APRIL-GAN and AnomalyCLIP
 * report (and SimCLIP copies), and the exact AUPRO of the official MVTec AD evaluation code.
 * Positives carry the global id of their 8-connected region (see connected-components.ts).
 */
import { MetricUndefinedError } from "./errors.js";
import { forEachDistinctDescending, type SortedScores } from "./ranking.js";

export interface RegionScores {
  neg: SortedScores;
  pos: SortedScores;
  /** Region id of each entry of `pos` (0-based, over all images). */
  posRegion: Uint32Array;
  /** Pixel count of each region. */
  regionArea: Uint32Array;
}

/**
 * The thresholds of `np.arange(mn, mx, (mx - mn) / steps)` bit for bit: count ceil((mx-mn)/delta),
 * which is 201 rather than 200 for ~5% of (mn, mx) pairs, th[1] = mn + delta and th[i] = mn + i*d2
 * for i >= 2 with d2 = th[1] - mn (NumPy's DOUBLE_fill).
 */
export function numpyArangeGrid(mn: number, mx: number, steps: number): Float64Array {
  const delta = (mx - mn) / steps;
  if (!(delta > 0) || !Number.isFinite(delta)) {
    throw new MetricUndefinedError(
      "pro",
      `the anomaly maps are constant (min = max = ${mn}); cal_pro_score's np.arange(min, max, 0) raises`,
    );
  }
  const count = Math.ceil((mx - mn) / delta);
  const th = new Float64Array(count);
  th[0] = mn;
  if (count > 1) th[1] = mn + delta;
  const d2 = th[1] - mn;
  for (let i = 2; i < count; i++) th[i] = mn + i * d2;
  return th;
}

function requireRegionsAndNormals(metric: string, s: RegionScores): void {
  if (s.regionArea.length === 0) {
    throw new MetricUndefinedError(metric, "the masks contain no defect region (the mean over regions is empty)");
  }
  if (s.neg.length === 0) {
    throw new MetricUndefinedError(metric, "the masks contain no normal pixel, so the false-positive rate is undefined");
  }
}

/** Number of sorted `values` <= t. */
function countAtMost(values: SortedScores, t: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface ProCurve {
  thresholds: Float64Array;
  fprs: Float64Array;
  pros: Float64Array;
}

/**
 * The per-threshold curve of `cal_pro_score`: a pixel is predicted anomalous when its score is
 * strictly greater than th; pro(th) is the unweighted mean over all regions of all images of the
 * region's detected fraction; fpr(th) the detected fraction of all normal pixels.
 */
export function calProCurve(s: RegionScores, steps: number): ProCurve {
  requireRegionsAndNormals("pro", s);
  const { neg, pos, posRegion, regionArea } = s;
  const mn = Math.min(neg[0], pos[0]);
  const mx = Math.max(neg[neg.length - 1], pos[pos.length - 1]);
  const th = numpyArangeGrid(mn, mx, steps);
  const t = th.length;
  const fprs = new Float64Array(t);
  for (let i = 0; i < t; i++) fprs[i] = (neg.length - countAtMost(neg, th[i])) / neg.length;
  // weightAbove[k]: summed 1/area of positives exceeding exactly the thresholds th[0..k-1].
  const weightAbove = new Float64Array(t + 1);
  let k = 0;
  for (let j = 0; j < pos.length; j++) {
    const v = pos[j];
    while (k < t && th[k] < v) k++;
    weightAbove[k] += 1 / regionArea[posRegion[j]];
  }
  const pros = new Float64Array(t);
  let acc = 0;
  for (let i = t - 1; i >= 0; i--) {
    acc += weightAbove[i + 1];
    pros[i] = acc / regionArea.length;
  }
  return { thresholds: th, fprs, pros };
}

/**
 * `cal_pro_score(masks, amaps, max_step=steps, expect_fpr=maxFpr)`: keep thresholds with
 * fpr < maxFpr (strict), rescale the kept fprs min-max to [0, 1] (not / maxFpr), then
 * `sklearn.metrics.auc` (trapezoid, decreasing x accepted, no interpolation at maxFpr).
 */
export function calProScore(s: RegionScores, steps: number, maxFpr: number): number {
  const { fprs, pros } = calProCurve(s, steps);
  const keptF: number[] = [];
  const keptP: number[] = [];
  for (let i = 0; i < fprs.length; i++) {
    if (fprs[i] < maxFpr) {
      keptF.push(fprs[i]);
      keptP.push(pros[i]);
    }
  }
  if (keptF.length < 2) {
    throw new MetricUndefinedError(
      "pro",
      `only ${keptF.length} of ${fprs.length} thresholds have fpr < ${maxFpr}; sklearn.metrics.auc needs at least 2 points`,
    );
  }
  const fMin = Math.min(...keptF);
  const fMax = Math.max(...keptF);
  if (fMax === fMin) {
    throw new MetricUndefinedError(
      "pro",
      `every threshold with fpr < ${maxFpr} has the same fpr (${fMin}), so the min-max rescaling divides by 0 (the reference returns NaN)`,
    );
  }
  // fprs never increase along rising thresholds, so sklearn.auc flips the sign of np.trapz.
  let area = 0;
  for (let i = 1; i < keptF.length; i++) {
    const x0 = (keptF[i - 1] - fMin) / (fMax - fMin);
    const x1 = (keptF[i] - fMin) / (fMax - fMin);
    area += ((x1 - x0) * (keptP[i] + keptP[i - 1])) / 2;
  }
  return -area;
}

/**
 * Exact AUPRO as the official MVTec AD code computes it (`compute_pro` + `trapezoid(x_max)`): one
 * curve point per distinct score (positives: score >= s), framed by (0,0) and (1,1), fpr and pro
 * clipped to 1, trapezoid up to fpr = maxFpr with linear interpolation of the crossing segment when
 * maxFpr is not itself a curve point, divided by maxFpr.
 */
export function auproExact(s: RegionScores, maxFpr: number): number {
  requireRegionsAndNormals("aupro", s);
  const { neg, pos, posRegion, regionArea } = s;
  const nNeg = neg.length;
  const nRegions = regionArea.length;
  let x0 = 0;
  let y0 = 0;
  let area = 0;
  let done = false;
  const addPoint = (x: number, y: number): void => {
    if (done) return;
    if (x <= maxFpr) {
      area += 0.5 * (y + y0) * (x - x0);
      x0 = x;
      y0 = y;
      if (x === maxFpr) done = true;
    } else {
      const yAt = y0 + ((y - y0) * (maxFpr - x0)) / (x - x0);
      area += 0.5 * (yAt + y0) * (maxFpr - x0);
      done = true;
    }
  };
  let fp = 0;
  let proSum = 0;
  forEachDistinctDescending(neg, pos, (negEq, posFrom, posTo) => {
    fp += negEq;
    for (let j = posFrom; j < posTo; j++) proSum += 1 / regionArea[posRegion[j]];
    addPoint(Math.min(fp / nNeg, 1), Math.min(proSum / nRegions, 1));
  });
  addPoint(1, 1);
  return area / maxFpr;
}
