/**
 * Connected regions of a binary mask with 8-connectivity (pixels touching only at a corner join),
 * which is what `skimage.measure.label(mask)` does by default and what both PRO implementations use.
 * Two-pass labelling with union-find over provisional labels.
 */
export interface MaskRegions {
  /** Region of each pixel, 1-based; 0 for background. Row-major [height * width]. */
  labels: Int32Array;
  count: number;
  /** Pixel count of region r at index r - 1. */
  areas: Uint32Array;
}

export function labelRegions8(mask: ArrayLike<number>, height: number, width: number): MaskRegions {
  const labels = new Int32Array(height * width);
  const parent: number[] = [0];
  const find = (x: number): number => {
    // Every provisional label and every parent link is an index below parent.length.
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  const union = (a: number, b: number): number => {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) return ra;
    const [lo, hi] = ra < rb ? [ra, rb] : [rb, ra];
    parent[hi] = lo;
    return lo;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (mask[p] === 0) continue;
      let l = 0;
      // Already-visited neighbours: W, NW, N, NE.
      if (x > 0 && labels[p - 1] !== 0) l = labels[p - 1]!;
      if (y > 0) {
        const up = p - width;
        for (const q of [x > 0 ? up - 1 : -1, up, x + 1 < width ? up + 1 : -1]) {
          const lq = q < 0 ? 0 : labels[q]!;
          if (lq === 0) continue;
          l = l === 0 ? lq : union(l, lq);
        }
      }
      if (l === 0) {
        l = parent.length;
        parent.push(l);
      }
      labels[p] = l;
    }
  }
  const compact = new Int32Array(parent.length);
  let count = 0;
  for (let l = 1; l < parent.length; l++) {
    const r = find(l);
    compact[l] = r === l ? ++count : compact[r]!;
  }
  const areas = new Uint32Array(count);
  for (let p = 0; p < labels.length; p++) {
    const l = labels[p]!;
    if (l !== 0) {
      const r = compact[l]!;
      labels[p] = r;
      areas[r - 1]++;
    }
  }
  return { labels, count, areas };
}
