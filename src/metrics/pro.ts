/**
 * Per-region overlap metrics on sorted scores: the `cal_pro_score` PRO that APRIL-GAN and AnomalyCLIP
 * report (and SimCLIP copies), and the exact AUPRO of the official MVTec AD evaluation code.
 * Positives carry the global id of their 8-connected region (see connected-components.ts).
 */
import { MetricInputError, MetricUndefinedError } from "./errors.js";
import { forEachDistinctDescending, type RankedScores, type SortedScores } from "./ranking.js";

export interface RegionScores {
  /** Scores of normal pixels, in any order. */
  neg: ArrayLike<number>;
  /** Scores of defect pixels, sorted ascending. */
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
    throw new MetricUndefinedError("pro", `the anomaly maps are constant (min = max = ${mn}); cal_pro_score's np.arange(min, max, 0) raises`);
  }
  const count = Math.ceil((mx - mn) / delta);
  const th = new Float64Array(count);
  th[0] = mn;
  if (count > 1) {
    const th1 = mn + delta;
    th[1] = th1;
    const d2 = th1 - mn;
    for (let i = 2; i < count; i++) th[i] = mn + i * d2;
  }
  return th;
}

function requireRegionsAndNormals(metric: string, regions: number, nNeg: number): void {
  if (regions === 0) {
    throw new MetricUndefinedError(metric, "the masks contain no defect region (the mean over regions is empty)");
  }
  if (nNeg === 0) {
    throw new MetricUndefinedError(metric, "the masks contain no normal pixel, so the false-positive rate is undefined");
  }
}

/**
 * How many thresholds lie strictly below v (the pixel is predicted anomalous at exactly those):
 * a direct estimate on the near-uniform grid, corrected against the actual threshold values.
 */
function thresholdsBelow(th: Float64Array, mn: number, invD2: number, v: number): number {
  const t = th.length;
  const e = (v - mn) * invD2;
  let k = e <= 0 ? 0 : e >= t ? t : Math.ceil(e);
  while (k < t && th[k]! < v) k++;
  while (k > 0 && th[k - 1]! >= v) k--;
  return k;
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
  const { neg, pos, posRegion, regionArea } = s;
  requireRegionsAndNormals("pro", regionArea.length, neg.length);
  const posFirst = pos[0];
  const posLast = pos[pos.length - 1];
  if (posFirst === undefined || posLast === undefined) {
    throw new MetricInputError("pos", undefined, `empty, but regionArea lists ${regionArea.length} defect regions`);
  }
  let mn = posFirst;
  let mx = posLast;
  for (let i = 0; i < neg.length; i++) {
    const v = neg[i]!;
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  const th = numpyArangeGrid(mn, mx, steps);
  const t = th.length;
  const invD2 = t > 1 ? 1 / (th[1]! - mn) : 1;
  // Histograms over "number of thresholds exceeded": one pass, not one pass per threshold.
  const negAbove = new Float64Array(t + 1);
  for (let i = 0; i < neg.length; i++) negAbove[thresholdsBelow(th, mn, invD2, neg[i]!)]++;
  const weightAbove = new Float64Array(t + 1);
  for (let j = 0; j < pos.length; j++) {
    weightAbove[thresholdsBelow(th, mn, invD2, pos[j]!)] += 1 / regionArea[posRegion[j]!]!;
  }
  const fprs = new Float64Array(t);
  const pros = new Float64Array(t);
  let fp = 0;
  let w = 0;
  for (let i = t - 1; i >= 0; i--) {
    fp += negAbove[i + 1]!;
    w += weightAbove[i + 1]!;
    fprs[i] = fp / neg.length;
    pros[i] = w / regionArea.length;
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
    const f = fprs[i]!;
    if (f < maxFpr) {
      keptF.push(f);
      keptP.push(pros[i]!);
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
    const x0 = (keptF[i - 1]! - fMin) / (fMax - fMin);
    const x1 = (keptF[i]! - fMin) / (fMax - fMin);
    area += ((x1 - x0) * (keptP[i]! + keptP[i - 1]!)) / 2;
  }
  return -area;
}

/**
 * Exact AUPRO as the official MVTec AD code computes it (`compute_pro` + `trapezoid(x_max)`): one
 * curve point per distinct score (positives: score >= s), framed by (0,0) and (1,1), fpr and pro
 * clipped to 1, trapezoid up to fpr = maxFpr with linear interpolation of the crossing segment when
 * maxFpr is not itself a curve point, divided by maxFpr. Runs of normal-pixel-only scores enter as one
 * point (see forEachDistinctDescending): their points lie on a horizontal segment, which has the same
 * area and the same value at maxFpr with or without the intermediate points.
 */
export function auproExact(r: RankedScores, posRegion: Uint32Array, regionArea: Uint32Array, maxFpr: number): number {
  const nNeg = r.nNeg;
  const nRegions = regionArea.length;
  requireRegionsAndNormals("aupro", nRegions, nNeg);
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
    } else {
      const yAt = y0 + ((y - y0) * (maxFpr - x0)) / (x - x0);
      area += 0.5 * (yAt + y0) * (maxFpr - x0);
      done = true;
    }
  };
  let fp = 0;
  let proSum = 0;
  forEachDistinctDescending(r, (negCount, posFrom, posTo) => {
    fp += negCount;
    for (let j = posFrom; j < posTo; j++) proSum += 1 / regionArea[posRegion[j]!]!;
    addPoint(Math.min(fp / nNeg, 1), Math.min(proSum / nRegions, 1));
  });
  addPoint(1, 1);
  return area / maxFpr;
}
