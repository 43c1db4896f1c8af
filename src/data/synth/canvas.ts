/**
 * Minimal raster tools for the synthetic benchmark: float RGB images, seeded value noise, and binary
 * region masks (discs, strokes, irregular blobs). Everything is drawn with hard edges, so that a
 * defect's mask is exactly the set of pixels it changed.
 */
import type { Rng } from "../random.js";

/** Interleaved RGB, values 0..255 (float while drawing, quantised once at the end). */
export interface Rgb {
  size: number;
  data: Float32Array;
}

export function makeRgb(size: number): Rgb {
  return { size, data: new Float32Array(size * size * 3) };
}

export function cloneRgb(img: Rgb): Rgb {
  return { size: img.size, data: img.data.slice() };
}

export function quantise(img: Rgb): Uint8Array {
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(img.data[i]!)));
  return out;
}

export function setPixel(img: Rgb, i: number, r: number, g: number, b: number): void {
  img.data[3 * i] = r;
  img.data[3 * i + 1] = g;
  img.data[3 * i + 2] = b;
}

export type Field = (x: number, y: number) => number;

/** Value noise on a `cells` x `cells` lattice over the unit square, smoothstep-interpolated, in [0, 1]. */
export function valueNoise(rng: Rng, cells: number): Field {
  const n = cells + 1;
  const grid = new Float32Array(n * n);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.next();
  return (x, y) => {
    const gx = Math.min(Math.max(x, 0), 1) * cells;
    const gy = Math.min(Math.max(y, 0), 1) * cells;
    const ix = Math.min(Math.floor(gx), cells - 1);
    const iy = Math.min(Math.floor(gy), cells - 1);
    const fx = gx - ix;
    const fy = gy - iy;
    const sx = fx * fx * (3 - 2 * fx);
    const sy = fy * fy * (3 - 2 * fy);
    const a = grid[iy * n + ix]!;
    const b = grid[iy * n + ix + 1]!;
    const c = grid[(iy + 1) * n + ix]!;
    const d = grid[(iy + 1) * n + ix + 1]!;
    return a + (b - a) * sx + (c - a) * sy + (a - b - c + d) * sx * sy;
  };
}

/** Fractal sum of value noise (octaves double the lattice, halve the amplitude), in [0, 1]. */
export function fbm(rng: Rng, cells: number, octaves: number): Field {
  const layers = Array.from({ length: octaves }, (_, o) => valueNoise(rng, cells << o));
  const norm = 2 - 2 ** (1 - octaves);
  return (x, y) => {
    let v = 0;
    let amp = 1;
    for (const f of layers) {
      v += amp * f(x, y);
      amp /= 2;
    }
    return v / norm;
  };
}

export type Mask = Uint8Array;

export function stampDisc(m: Mask, size: number, cx: number, cy: number, r: number): void {
  const x0 = Math.max(0, Math.floor(cx - r));
  const x1 = Math.min(size - 1, Math.ceil(cx + r));
  const y0 = Math.max(0, Math.floor(cy - r));
  const y1 = Math.min(size - 1, Math.ceil(cy + r));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) m[y * size + x] = 1;
  }
}

/** A polyline of width `width` (discs stamped every half pixel along each segment). */
export function strokePath(m: Mask, size: number, pts: [number, number][], width: number): void {
  const r = Math.max(width / 2, 0.6);
  for (let i = 0; i + 1 < pts.length; i++) {
    const [ax, ay] = pts[i]!;
    const [bx, by] = pts[i + 1]!;
    const steps = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) * 2));
    for (let s = 0; s <= steps; s++) stampDisc(m, size, ax + ((bx - ax) * s) / steps, ay + ((by - ay) * s) / steps, r);
  }
}

/** An irregular blob: radius modulated by a few random harmonics of the angle. */
export function stampBlob(m: Mask, size: number, rng: Rng, cx: number, cy: number, r: number, irregularity: number): void {
  const harmonics = Array.from({ length: 4 }, (_, k) => ({ k: k + 2, a: (rng.range(-1, 1) * irregularity) / (k + 1), p: rng.range(0, 2 * Math.PI) }));
  const rmax = r * (1 + irregularity * 2.1);
  const x0 = Math.max(0, Math.floor(cx - rmax));
  const x1 = Math.min(size - 1, Math.ceil(cx + rmax));
  const y0 = Math.max(0, Math.floor(cy - rmax));
  const y1 = Math.min(size - 1, Math.ceil(cy + rmax));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const t = Math.atan2(dy, dx);
      let rad = r;
      for (const h of harmonics) rad += r * h.a * Math.sin(h.k * t + h.p);
      if (dx * dx + dy * dy <= rad * rad) m[y * size + x] = 1;
    }
  }
}

export function quadraticBezier(p0: [number, number], p1: [number, number], p2: [number, number], n: number): [number, number][] {
  return Array.from({ length: n + 1 }, (_, i) => {
    const t = i / n;
    const a = (1 - t) * (1 - t);
    const b = 2 * (1 - t) * t;
    const c = t * t;
    return [a * p0[0] + b * p1[0] + c * p2[0], a * p0[1] + b * p1[1] + c * p2[1]] as [number, number];
  });
}

export function countMask(m: Mask): number {
  let n = 0;
  for (let i = 0; i < m.length; i++) n += m[i]!;
  return n;
}

export function andMask(a: Mask, b: Mask): Mask {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! & b[i]!;
  return out;
}

export function luminance(img: Rgb, i: number): number {
  return 0.299 * img.data[3 * i]! + 0.587 * img.data[3 * i + 1]! + 0.114 * img.data[3 * i + 2]!;
}
