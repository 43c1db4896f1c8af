/**
 * Slow, obviously-correct transcriptions of the reference definitions (README of
 * test/fixtures/metrics), used to check the fast implementation on random inputs.
 */
import { at } from "../at.js";

/** Value of pixel (y, x) of image i. */
function pixel(images: number[][][], i: number, y: number, x: number): number {
  return at(at(at(images, i), y), x);
}

export function bruteAuroc(labels: number[], scores: number[]): number {
  let num = 0;
  let nPos = 0;
  let nNeg = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) nPos++;
    else nNeg++;
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue;
      const si = at(scores, i);
      const sj = at(scores, j);
      num += si > sj ? 1 : si === sj ? 0.5 : 0;
    }
  }
  return num / (nPos * nNeg);
}

function distinctDescending(scores: number[]): number[] {
  return [...new Set(scores)].sort((a, b) => b - a);
}

export function bruteAp(labels: number[], scores: number[]): number {
  const nPos = labels.filter((l) => l === 1).length;
  let ap = 0;
  let prevRecall = 0;
  for (const t of distinctDescending(scores)) {
    let tp = 0;
    let fp = 0;
    labels.forEach((l, i) => {
      if (at(scores, i) >= t) l === 1 ? tp++ : fp++;
    });
    const recall = tp / nPos;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  }
  return ap;
}

export function bruteF1(labels: number[], scores: number[]): number {
  const nPos = labels.filter((l) => l === 1).length;
  let best = 0;
  for (const t of distinctDescending(scores)) {
    let tp = 0;
    let fp = 0;
    labels.forEach((l, i) => {
      if (at(scores, i) >= t) l === 1 ? tp++ : fp++;
    });
    if (tp > 0) best = Math.max(best, (2 * tp) / (2 * tp + fp + (nPos - tp)));
  }
  return best;
}

/** 8-connected components by flood fill: label per pixel (1-based, 0 background). */
export function floodLabels(mask: number[][]): number[][] {
  const h = mask.length;
  const w = at(mask, 0).length;
  const out = mask.map((r) => r.map(() => 0));
  const isNew = (y: number, x: number) => at(at(mask, y), x) !== 0 && at(at(out, y), x) === 0;
  let next = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!isNew(y, x)) continue;
      next++;
      const stack: [number, number][] = [[y, x]];
      at(out, y)[x] = next;
      while (stack.length > 0) {
        const [cy, cx] = stack.pop()!;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const ny = cy + dy;
            const nx = cx + dx;
            if (ny < 0 || nx < 0 || ny >= h || nx >= w || !isNew(ny, nx)) continue;
            at(out, ny)[nx] = next;
            stack.push([ny, nx]);
          }
        }
      }
    }
  }
  return out;
}

interface Region {
  image: number;
  pixels: [number, number][];
}

function regionsOf(masks: number[][][]): Region[] {
  const regions: Region[] = [];
  masks.forEach((m, image) => {
    const lab = floodLabels(m);
    const byLabel = new Map<number, [number, number][]>();
    lab.forEach((row, y) => {
      row.forEach((l, x) => {
        if (l !== 0) byLabel.set(l, [...(byLabel.get(l) ?? []), [y, x]]);
      });
    });
    for (const pixels of byLabel.values()) regions.push({ image, pixels });
  });
  return regions;
}

/** cal_pro_score line by line, with the np.arange grid written as NumPy fills it. */
export function bruteCalPro(masks: number[][][], amaps: number[][][], maxStep = 200, expectFpr = 0.3): number {
  const all = amaps.flat(2);
  const mn = Math.min(...all);
  const mx = Math.max(...all);
  const delta = (mx - mn) / maxStep;
  const n = Math.ceil((mx - mn) / delta);
  const th1 = mn + delta;
  const ths = [mn, th1];
  const d2 = th1 - mn;
  for (let i = 2; i < n; i++) ths.push(mn + i * d2);
  const regions = regionsOf(masks);
  const fprs: number[] = [];
  const pros: number[] = [];
  for (const th of ths.slice(0, n)) {
    const perRegion = regions.map((r) => r.pixels.filter(([y, x]) => pixel(amaps, r.image, y, x) > th).length / r.pixels.length);
    pros.push(perRegion.reduce((a, b) => a + b, 0) / perRegion.length);
    let fp = 0;
    let normal = 0;
    masks.forEach((m, i) => {
      m.forEach((row, y) => {
        row.forEach((v, x) => {
          if (v === 0) {
            normal++;
            if (pixel(amaps, i, y, x) > th) fp++;
          }
        });
      });
    });
    fprs.push(fp / normal);
  }
  const keep = fprs.map((f) => f < expectFpr);
  const kf = fprs.filter((_, i) => keep[i]);
  const kp = pros.filter((_, i) => keep[i]);
  const lo = Math.min(...kf);
  const hi = Math.max(...kf);
  const x = kf.map((f) => (f - lo) / (hi - lo));
  let area = 0;
  for (let i = 1; i < x.length; i++) area += ((at(x, i) - at(x, i - 1)) * (at(kp, i) + at(kp, i - 1))) / 2;
  return Math.abs(area);
}

/** The MVTec AD compute_pro curve built threshold by threshold, then trapezoid(x_max) / x_max. */
export function bruteAuproExact(masks: number[][][], amaps: number[][][], maxFpr = 0.3): number {
  const regions = regionsOf(masks);
  const xs = [0];
  const ys = [0];
  for (const s of distinctDescending(amaps.flat(2))) {
    let fp = 0;
    let normal = 0;
    masks.forEach((m, i) => {
      m.forEach((row, y) => {
        row.forEach((v, x) => {
          if (v === 0) {
            normal++;
            if (pixel(amaps, i, y, x) >= s) fp++;
          }
        });
      });
    });
    const perRegion = regions.map((r) => r.pixels.filter(([y, x]) => pixel(amaps, r.image, y, x) >= s).length / r.pixels.length);
    xs.push(Math.min(fp / normal, 1));
    ys.push(Math.min(perRegion.reduce((a, b) => a + b, 0) / perRegion.length, 1));
  }
  xs.push(1);
  ys.push(1);
  let correction = 0;
  if (!xs.includes(maxFpr)) {
    const ins = xs.findIndex((v) => v > maxFpr);
    const [x0, x1, y0, y1] = [at(xs, ins - 1), at(xs, ins), at(ys, ins - 1), at(ys, ins)];
    const yi = y0 + ((y1 - y0) * (maxFpr - x0)) / (x1 - x0);
    correction = 0.5 * (yi + y0) * (maxFpr - x0);
  }
  let area = 0;
  const keep = xs.map((v) => v <= maxFpr);
  const kx = xs.filter((_, i) => keep[i]);
  const ky = ys.filter((_, i) => keep[i]);
  for (let i = 1; i < kx.length; i++) area += 0.5 * (at(ky, i) + at(ky, i - 1)) * (at(kx, i) - at(kx, i - 1));
  return (area + correction) / maxFpr;
}

/** Mann-Whitney via mid-ranks of all scores sorted together (a different route from pair counting, fast enough for 1e5+). */
export function rankSumAuroc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => at(scores, a) - at(scores, b));
  const score = (k: number) => at(scores, at(idx, k));
  let rankSum = 0;
  let nPos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j < idx.length && score(j) === score(i)) j++;
    const midRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++)
      if (labels[at(idx, k)] === 1) {
        rankSum += midRank;
        nPos++;
      }
    i = j;
  }
  const nNeg = idx.length - nPos;
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}
