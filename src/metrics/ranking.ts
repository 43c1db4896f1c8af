/**
 * Metrics computed from the scores of negatives and positives, each sorted ascending: I-AUROC /
 * P-AUROC, average precision and F1-max, exactly as scikit-learn 1.2 defines them (a sample is
 * positive at threshold t when its score is >= t; thresholds are the distinct scores).
 */
import { MetricUndefinedError } from "./errors.js";

export type SortedScores = Float32Array | Float64Array;

/**
 * Visits each distinct score once, from the highest to the lowest, with how many negatives hold it
 * and the range [posFrom, posTo) of the positives that hold it. Equal values form one threshold, which
 * is how ties count in scikit-learn's `_binary_clf_curve`.
 */
export function forEachDistinctDescending(
  neg: SortedScores,
  pos: SortedScores,
  visit: (negEqual: number, posFrom: number, posTo: number) => void,
): void {
  let i = neg.length;
  let j = pos.length;
  while (i > 0 || j > 0) {
    const v = i === 0 ? pos[j - 1] : j === 0 ? neg[i - 1] : Math.max(neg[i - 1], pos[j - 1]);
    const i0 = i;
    while (i > 0 && neg[i - 1] === v) i--;
    const j0 = j;
    while (j > 0 && pos[j - 1] === v) j--;
    visit(i0 - i, j, j0);
  }
}

function requireBothClasses(metric: string, nNeg: number, nPos: number, what: string): void {
  if (nNeg === 0 || nPos === 0) {
    throw new MetricUndefinedError(
      metric,
      `only one class present (${nPos} positive and ${nNeg} negative ${what}); like scikit-learn's ` +
        `roc_auc_score ("Only one class present in y_true") it needs both labels`,
    );
  }
}

/**
 * Area under the ROC curve = Mann-Whitney U / (nPos nNeg) with ties counted 1/2, which is what
 * sklearn's trapezoidal ROC area equals. Accumulated as 2U in integers (exact below 2^53).
 */
export function aurocSorted(neg: SortedScores, pos: SortedScores, metric: string, what: string): number {
  const nNeg = neg.length;
  const nPos = pos.length;
  requireBothClasses(metric, nNeg, nPos, what);
  let negAbove = 0;
  let twiceU = 0;
  forEachDistinctDescending(neg, pos, (negEq, posFrom, posTo) => {
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
export function averagePrecisionSorted(neg: SortedScores, pos: SortedScores): number {
  const nPos = pos.length;
  if (nPos === 0) {
    process.emitWarning(
      "average precision with no positive sample is undefined; returning 0 as scikit-learn 1.2.1 does",
      { code: "SIMCLIP_AP_NO_POSITIVE" },
    );
    return 0;
  }
  let tp = 0;
  let fp = 0;
  let ap = 0;
  forEachDistinctDescending(neg, pos, (negEq, posFrom, posTo) => {
    const dtp = posTo - posFrom;
    tp += dtp;
    fp += negEq;
    if (dtp > 0) ap += (dtp / nPos) * (tp / (tp + fp));
  });
  return ap;
}

/**
 * APRIL-GAN's pixel F1-max: max over distinct thresholds of 2PR/(P+R) = 2TP/(2TP+FP+FN); thresholds
 * with P+R = 0 (NaN there) are skipped. Between two positive scores F1 only falls, so only thresholds
 * that add positives can be the maximum.
 */
export function f1MaxSorted(neg: SortedScores, pos: SortedScores): number {
  const nPos = pos.length;
  if (nPos === 0) {
    throw new MetricUndefinedError("f1_max", "no positive (defect) pixel in the masks, so recall is undefined");
  }
  let tp = 0;
  let fp = 0;
  let best = 0;
  forEachDistinctDescending(neg, pos, (negEq, posFrom, posTo) => {
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
