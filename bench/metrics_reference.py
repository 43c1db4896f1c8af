"""Reference timing for `npm run bench -- metrics`: the peers' metric code on the same synthetic data.

Reads DIR/masks.u8 and DIR/maps.f32 (N x H x W, written by bench/metrics.ts) and times
sklearn's roc_auc_score on all pixels (P-AUROC) and APRIL-GAN / AnomalyCLIP's cal_pro_score,
copied verbatim below. amaps are cast to float64, the arithmetic our fixtures and implementation use.
Prints one JSON line: values, wall seconds (*_s) and CPU seconds of this process (*_cpu).
"""
import json
import sys
import time

import numpy as np
from skimage import measure
from sklearn.metrics import auc, roc_auc_score


def cal_pro_score(masks, amaps, max_step=200, expect_fpr=0.3):
    # ByChelsea/VAND-APRIL-GAN test.py (identical in zqhang/AnomalyCLIP metrics.py).
    binary_amaps = np.zeros_like(amaps, dtype=bool)
    min_th, max_th = amaps.min(), amaps.max()
    delta = (max_th - min_th) / max_step
    pros, fprs, ths = [], [], []
    for th in np.arange(min_th, max_th, delta):
        binary_amaps[amaps <= th], binary_amaps[amaps > th] = 0, 1
        pro = []
        for binary_amap, mask in zip(binary_amaps, masks):
            for region in measure.regionprops(measure.label(mask)):
                tp_pixels = binary_amap[region.coords[:, 0], region.coords[:, 1]].sum()
                pro.append(tp_pixels / region.area)
        inverse_masks = 1 - masks
        fp_pixels = np.logical_and(inverse_masks, binary_amaps).sum()
        fpr = fp_pixels / inverse_masks.sum()
        pros.append(np.array(pro).mean())
        fprs.append(fpr)
        ths.append(th)
    pros, fprs, ths = np.array(pros), np.array(fprs), np.array(ths)
    idxes = fprs < expect_fpr
    fprs = fprs[idxes]
    fprs = (fprs - fprs.min()) / (fprs.max() - fprs.min())
    return auc(fprs, pros[idxes])


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
