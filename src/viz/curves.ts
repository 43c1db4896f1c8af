/**
 * ROC and precision-recall curve points for plotting (the scalar AUROC/AP live in src/metrics).
 * Same points as scikit-learn's `roc_curve(..., drop_intermediate=False)` and
 * `precision_recall_curve` (docs/notebooks.md, figure conventions): one point per distinct score threshold,
 * thresholds descending, tied scores stepping together.
 */
import { InvalidArgumentError, ShapeError } from "../errors.js";

export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** Threshold of each point; the first point (0, 0) has +Infinity. */
  thresholds: number[];
}

export interface PrCurve {
  recall: number[];
  precision: number[];
  /** Threshold of each point, descending; the first point (recall 0, precision 1) has +Infinity. */
  thresholds: number[];
}

/** Cumulative false/true positives at each distinct threshold, highest score first. */
function binaryCounts(labels: ArrayLike<number>, scores: ArrayLike<number>): { fps: number[]; tps: number[]; thresholds: number[] } {
  if (labels.length !== scores.length) throw new ShapeError(`curve: ${labels.length} labels but ${scores.length} scores; give one score per label`);
  const n = labels.length;
  // Indices below are entries of `order`, a permutation of 0 .. n - 1.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const fps: number[] = [];
  const tps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let j = 0; j < n; j++) {
    const i = order[j]!;
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new InvalidArgumentError(`curve: label ${j} is ${y}, expected 0 (normal) or 1 (anomalous)`);
    const score = scores[i]!;
    if (Number.isNaN(score)) throw new InvalidArgumentError(`curve: score at index ${i} is NaN`);
    if (y === 1) tp++;
    else fp++;
    if (j === n - 1 || scores[order[j + 1]!] !== score) {
      fps.push(fp);
      tps.push(tp);
      thresholds.push(score);
    }
  }
  return { fps, tps, thresholds };
}

export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): RocCurve {
  const { fps, tps, thresholds } = binaryCounts(labels, scores);
  const P = tps[tps.length - 1] ?? 0;
  const N = fps[fps.length - 1] ?? 0;
  if (P === 0 || N === 0) throw new InvalidArgumentError(`rocCurve: needs both classes, found ${P} anomalous and ${N} normal labels`);
  return {
    fpr: [0, ...fps.map((f) => f / N)],
    tpr: [0, ...tps.map((t) => t / P)],
    thresholds: [Infinity, ...thresholds],
  };
}

export function prCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): PrCurve {
  const { fps, tps, thresholds } = binaryCounts(labels, scores);
  const P = tps[tps.length - 1] ?? 0;
  if (P === 0) throw new InvalidArgumentError("prCurve: needs at least one anomalous (label 1) sample");
  return {
    recall: [0, ...tps.map((t) => t / P)],
    precision: [1, ...tps.map((t, i) => t / (t + fps[i]!))],
    thresholds: [Infinity, ...thresholds],
  };
}
