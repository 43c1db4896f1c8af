/** Image-level metrics as the peers compute them with scikit-learn (roc_auc_score, average_precision_score). */
import { splitByLabel } from "./inputs.js";
import { sortScores } from "./radix-sort.js";
import { aurocRanked, averagePrecisionRanked, rankAgainstPositives } from "./ranking.js";
import type { MetricVector } from "./types.js";

/** I-AUROC; throws MetricUndefinedError when only one class is present (as scikit-learn raises). */
export function imageAuroc(labels: MetricVector, scores: MetricVector): number {
  const { neg, pos } = splitByLabel(labels, scores);
  sortScores(pos);
  return aurocRanked(rankAgainstPositives(neg, pos), "i_auroc", "images");
}

/** I-AP (`average_precision_score`); all positives give 1, all negatives 0 with a warning (sklearn 1.2.1). */
export function averagePrecision(labels: MetricVector, scores: MetricVector): number {
  const { neg, pos } = splitByLabel(labels, scores);
  sortScores(pos);
  return averagePrecisionRanked(rankAgainstPositives(neg, pos));
}
