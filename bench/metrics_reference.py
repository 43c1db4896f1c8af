"""Reference timing for `npm run bench -- metrics`: the peers' metric code on the same synthetic data.

Reads DIR/masks.u8 and DIR/maps.f32 (N x H x W, written by bench/metrics.ts) and times
sklearn's roc_auc_score on all pixels (P-AUROC) and APRIL-GAN / AnomalyCLIP's cal_pro_score
(re-implemented below from its definition). amaps are cast to float64, the arithmetic our fixtures and implementation use.
Prints one JSON line: values, wall seconds (*_s) and CPU seconds of this process (*_cpu).
"""
import json
import sys
import time

import numpy as np
from skimage import measure
from sklearn.metrics import auc, roc_auc_score


def cal_pro_score(masks, amaps, max_step=200, expect_fpr=0.3):
    """The peers' PRO, written here from its definition (APRIL-GAN test.py / AnomalyCLIP metrics.py):
    the same algorithm and cost (a pass over every region per threshold, skimage labelling), so the
    timing compares like with like."""
    lo, hi = amaps.min(), amaps.max()
    normal = masks == 0
    curve_fpr, curve_pro = [], []
    for th in np.arange(lo, hi, (hi - lo) / max_step):
        positive = amaps > th
        # The peers label the masks' regions again at every threshold; kept, so the cost is theirs.
        regions = [(i, r.coords) for i, m in enumerate(masks) for r in measure.regionprops(measure.label(m))]
        overlaps = [positive[i][c[:, 0], c[:, 1]].sum() / len(c) for i, c in regions]
        curve_pro.append(np.mean(overlaps))
        curve_fpr.append(np.logical_and(normal, positive).sum() / normal.sum())
    fprs, pros = np.array(curve_fpr), np.array(curve_pro)
    keep = fprs < expect_fpr
    kept = fprs[keep]
    return auc((kept - kept.min()) / (kept.max() - kept.min()), pros[keep])


def main():
    folder, n, h, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    masks = np.fromfile(f"{folder}/masks.u8", dtype=np.uint8).reshape(n, h, w)
    amaps = np.fromfile(f"{folder}/maps.f32", dtype=np.float32).reshape(n, h, w).astype(np.float64)
    t, c = time.perf_counter(), time.process_time()
    p_auroc = roc_auc_score(masks.ravel(), amaps.ravel())
    p_auroc_s, p_auroc_cpu = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    pro = cal_pro_score(masks, amaps)
    pro_s, pro_cpu = time.perf_counter() - t, time.process_time() - c
    print(json.dumps({"p_auroc": p_auroc, "p_auroc_s": p_auroc_s, "p_auroc_cpu": p_auroc_cpu,
                      "pro": pro, "pro_s": pro_s, "pro_cpu": pro_cpu}))


if __name__ == "__main__":
    main()
