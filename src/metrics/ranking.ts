/**
 * Ranking metrics on scores of negatives and positives, exactly as scikit-learn 1.2 defines them
 * (positive at threshold t when score >= t; thresholds are the distinct scores): I-AUROC / P-AUROC,
 * average precision and F1-max.
 *
 * Every one of them (and the exact AUPRO) only needs, for each distinct positive score, how many
 * negatives equal it and how many lie strictly between it and the next one: `rankAgainstPositives`
 * computes that from unsorted negatives in one pass, so the millions of normal pixels of a category
 * are never sorted (only the defect pixels are).
 */
import { MetricUndefinedError } from "./errors.js";

export type SortedScores = Float32Array | Float64Array;

export interface RankedScores {
  nNeg: number;
  nPos: number;
  /** Distinct positive scores, ascending (length m). */
  posValues: Float64Array;
  /** Positives holding posValues[j] are sorted positions posStart[j] .. posStart[j+1] - 1 (length m + 1). */
  posStart: Uint32Array;
  /** Negatives equal to posValues[j] (length m). */
  negEqual: Float64Array;
  /** negBetween[j]: negatives strictly between posValues[j-1] and posValues[j]; [0] below all, [m] above all. */
  negBetween: Float64Array;
}

/** Lower-bound lookups: cell boundaries over [first, last] narrow the binary search to a few entries. */
function lowerBoundTable(values: Float64Array, first: number, last: number): { cells: number; scale: number; start: Uint32Array } {
  const m = values.length;
  const cells = Math.min(1 << 24, Math.max(1024, 2 * m));
  const span = last - first;
  const scale = span > 0 ? cells / span : 0;
  // start[c] = first j whose cell is >= c; the cell function is monotone in the value, so the lower
  // bound of any v in cell c lies in [start[c], start[c + 1]].
  const start = new Uint32Array(cells + 2);
  let j = 0;
  for (let c = 0; c <= cells + 1; c++) {
    while (j < m && Math.min(Math.floor((values[j]! - first) * scale), cells) < c) j++;
    start[c] = j;
  }
  return { cells, scale, start };
}

/** `neg` in any order; `pos` sorted ascending. */
export function rankAgainstPositives(neg: ArrayLike<number>, pos: SortedScores): RankedScores {
  const nPos = pos.length;
  let m = 0;
  for (let i = 0; i < nPos; i++) if (i === 0 || pos[i] !== pos[i - 1]) m++;
  const posValues = new Float64Array(m);
  const posStart = new Uint32Array(m + 1);
  for (let i = 0, j = 0; i < nPos; i++) {
    if (i === 0 || pos[i] !== pos[i - 1]) {
      posValues[j] = pos[i]!;
      posStart[j++] = i;
    }
  }
  posStart[m] = nPos;
  const negEqual = new Float64Array(m);
  const negBetween = new Float64Array(m + 1);
  if (m === 0) {
    negBetween[0] = neg.length;
    return { nNeg: neg.length, nPos, posValues, posStart, negEqual, negBetween };
  }
  const first = posValues[0]!;
  const last = posValues[m - 1]!;
  const { cells, scale, start } = lowerBoundTable(posValues, first, last);
  for (let i = 0; i < neg.length; i++) {
    const v = neg[i]!;
    if (v < first) {
      negBetween[0]++;
      continue;
    }
    if (v > last) {
      negBetween[m]++;
      continue;
    }
    const c = Math.min(Math.floor((v - first) * scale), cells);
    // c <= cells and start has cells + 2 entries; first <= v <= last keeps lo below m.
    let lo = start[c]!;
    let hi = start[c + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (posValues[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    if (posValues[lo] === v) negEqual[lo]++;
    else negBetween[lo]++;
  }
  return { nNeg: neg.length, nPos, posValues, posStart, negEqual, negBetween };
}

/**
 * Visits the thresholds from the highest score to the lowest: each distinct positive score with the
 * negatives tied to it and its sorted positive range [posFrom, posTo), and each run of
 * negative-only scores between two positive ones merged into one step (posFrom = posTo). Merging
 * changes no metric here: within such a run TP and the region overlaps are constant.
 */
export function forEachDistinctDescending(r: RankedScores, visit: (negCount: number, posFrom: number, posTo: number) => void): void {
  const m = r.posValues.length;
  const { negBetween, negEqual, posStart } = r;
  if (negBetween[m]! > 0) visit(negBetween[m]!, posStart[m]!, posStart[m]!);
  for (let j = m - 1; j >= 0; j--) {
    visit(negEqual[j]!, posStart[j]!, posStart[j + 1]!);
    if (negBetween[j]! > 0) visit(negBetween[j]!, posStart[j]!, posStart[j]!);
  }
}

/**
 * Area under the ROC curve = Mann-Whitney U / (nPos nNeg) with ties counted 1/2, which is what
 * sklearn's trapezoidal ROC area equals. Accumulated as 2U (integers, exact below 2^53).
 */
export function aurocRanked(r: RankedScores, metric: string, what: string): number {
  const { nNeg, nPos } = r;
  if (nNeg === 0 || nPos === 0) {
    throw new MetricUndefinedError(
      metric,
      `only one class present (${nPos} positive and ${nNeg} negative ${what}); like scikit-learn's ` +
        `roc_auc_score ("Only one class present in y_true") it needs both labels`,
    );
  }
  let negAbove = 0;
  let twiceU = 0;
  forEachDistinctDescending(r, (negEq, posFrom, posTo) => {
    const negBelow = nNeg - negAbove - negEq;
    twiceU += (posTo - posFrom) * (2 * negBelow + negEq);
    negAbove += negEq;
  });
  return twiceU / (2 * nPos * nNeg);
}

/**
 * sklearn `average_precision_score`: AP = sum_k (R_k - R_{k-1}) P_k over distinct thresholds,
 * descending, R_0 = 0 (a step sum, no interpolation). With no positive at all scikit-learn 1.2.1
 * warns and returns 0 (its recall is forced to 1 while precision stays 0); we return the same and
 * emit a process warning, since the peers' reported numbers come from that version.
 */
export function averagePrecisionRanked(r: RankedScores): number {
  const { nPos } = r;
  if (nPos === 0) {
    process.emitWarning("average precision with no positive sample is undefined; returning 0 as scikit-learn 1.2.1 does", { code: "SIMCLIP_AP_NO_POSITIVE" });
    return 0;
  }
  let tp = 0;
  let fp = 0;
  let ap = 0;
  forEachDistinctDescending(r, (negEq, posFrom, posTo) => {
    const dtp = posTo - posFrom;
    tp += dtp;
    fp += negEq;
    if (dtp > 0) ap += (dtp / nPos) * (tp / (tp + fp));
  });
  return ap;
}

/**
 * APRIL-GAN's pixel F1-max: max over distinct thresholds of 2PR/(P+R); thresholds with P+R = 0
 * (NaN there) are skipped, as `np.max(f1s[np.isfinite(f1s)])` does.
 */
export function f1MaxRanked(r: RankedScores): number {
  const { nPos } = r;
  if (nPos === 0) {
    throw new MetricUndefinedError("f1_max", "no positive (defect) pixel in the masks, so recall is undefined");
  }
  let tp = 0;
  let fp = 0;
  let best = 0;
  forEachDistinctDescending(r, (negEq, posFrom, posTo) => {
    tp += posTo - posFrom;
    fp += negEq;
    if (tp > 0) {
      const precision = tp / (tp + fp);
      const recall = tp / nPos;
      const f1 = (2 * precision * recall) / (precision + recall);
      if (f1 > best) best = f1;
    }
  });
  return best;
}
