/**
 * Defects painted onto a clean image. Each returns the region it painted; every pixel of that region
 * is pushed to differ visibly (>= MIN_CONTRAST in some channel) from the clean pixel, and no pixel
 * outside it changes, so the mask (pixels that differ) is exactly the region.
 */
import type { Rng } from "../random.js";
import { andMask, countMask, luminance, quadraticBezier, stampBlob, strokePath, type Mask, type Rgb } from "./canvas.js";

export const PAINTED_DEFECTS = ["scratch", "crack", "hole", "stain", "contamination"] as const;
export const PART_DEFECTS = ["missing_part", "misplaced_part"] as const;
export type PaintedDefect = (typeof PAINTED_DEFECTS)[number];
export type DefectType = PaintedDefect | (typeof PART_DEFECTS)[number];

export const MIN_CONTRAST = 30;

type Rgb3 = [number, number, number];

/** Where on the image a defect may go: anywhere (textures) or inside the object's silhouette. */
function pickCentre(rng: Rng, size: number, allowed: Mask | null): [number, number] {
  const margin = 0.1 * size;
  for (;;) {
    const x = rng.range(margin, size - margin);
    const y = rng.range(margin, size - margin);
    if (allowed === null || allowed[Math.floor(y) * size + Math.floor(x)]) return [x, y];
  }
}

function shapeOf(type: PaintedDefect, rng: Rng, size: number, allowed: Mask | null): Mask {
  const s = size / 256;
  const m = new Uint8Array(size * size);
  const [cx, cy] = pickCentre(rng, size, allowed);
  switch (type) {
    case "scratch": {
      const len = rng.range(35, 90) * s;
      const a = rng.range(0, Math.PI);
      const bend = rng.range(-0.3, 0.3) * len;
      const p0: [number, number] = [cx - (Math.cos(a) * len) / 2, cy - (Math.sin(a) * len) / 2];
      const p2: [number, number] = [cx + (Math.cos(a) * len) / 2, cy + (Math.sin(a) * len) / 2];
      strokePath(m, size, quadraticBezier(p0, [cx - Math.sin(a) * bend, cy + Math.cos(a) * bend], p2, 24), rng.range(1.2, 2.6) * s);
      break;
    }
    case "crack": {
      const branches = 1 + rng.int(2);
      for (let b = 0; b < branches; b++) {
        let x = cx;
        let y = cy;
        let a = rng.range(0, 2 * Math.PI);
        const pts: [number, number][] = [[x, y]];
        for (let i = 0, n = 8 + rng.int(10); i < n; i++) {
          a += rng.normal() * 0.45;
          x += Math.cos(a) * 4 * s;
          y += Math.sin(a) * 4 * s;
          pts.push([x, y]);
        }
        strokePath(m, size, pts, rng.range(1.2, 2.8) * s);
      }
      break;
    }
    case "hole":
      stampBlob(m, size, rng, cx, cy, rng.range(5, 13) * s, 0.2);
      break;
    case "stain":
      stampBlob(m, size, rng, cx, cy, rng.range(9, 24) * s, 0.3);
      break;
    case "contamination": {
      for (let i = 0, n = 2 + rng.int(4); i < n; i++) {
        stampBlob(m, size, rng, cx + rng.range(-12, 12) * s, cy + rng.range(-12, 12) * s, rng.range(1.5, 4.5) * s, 0.35);
      }
      if (rng.next() < 0.5) {
        const a = rng.range(0, Math.PI);
        const len = rng.range(15, 35) * s;
        const end: [number, number] = [cx + Math.cos(a) * len, cy + Math.sin(a) * len];
        strokePath(m, size, quadraticBezier([cx, cy], [cx + rng.range(-10, 10) * s, cy + rng.range(-10, 10) * s], end, 16), 1.2 * s);
      }
      break;
    }
  }
  return allowed === null ? m : andMask(m, allowed);
}

function colourFor(type: PaintedDefect, rng: Rng): (old: Rgb3, x: number, y: number) => Rgb3 {
  switch (type) {
    case "scratch": {
      const bright = rng.next() < 0.5;
      return (o) => (bright ? [o[0] + 75, o[1] + 75, o[2] + 75] : [o[0] * 0.45, o[1] * 0.45, o[2] * 0.45]);
    }
    case "crack":
      return (o) => [o[0] * 0.22 + 8, o[1] * 0.22 + 8, o[2] * 0.22 + 8];
    case "hole": {
      const depth = rng.range(15, 35);
      return (_, x, y) => {
        const g = depth + 6 * Math.sin(x * 0.9) * Math.cos(y * 0.7);
        return [g, g * 0.95, g * 0.9];
      };
    }
    case "stain": {
      const tint = rng.pick<Rgb3>([
        [95, 60, 25],
        [205, 175, 45],
        [45, 65, 150],
        [25, 25, 22],
      ]);
      const alpha = rng.range(0.5, 0.75);
      return (o) => [o[0] * (1 - alpha) + tint[0] * alpha, o[1] * (1 - alpha) + tint[1] * alpha, o[2] * (1 - alpha) + tint[2] * alpha];
    }
    case "contamination": {
      const c = rng.pick<Rgb3>([
        [240, 238, 230],
        [22, 22, 20],
        [215, 115, 35],
      ]);
      return () => c;
    }
  }
}

const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));

/**
 * Paint `type` onto `img` (values must already be whole numbers in 0..255) in place; returns the
 * painted region, or null if the drawn shape fell (almost) outside the allowed area.
 */
export function paintDefect(img: Rgb, type: PaintedDefect, rng: Rng, allowed: Mask | null): Mask | null {
  const size = img.size;
  const region = shapeOf(type, rng, size, allowed);
  if (countMask(region) < 25 * (size / 256) ** 2) return null;
  const colour = colourFor(type, rng);
  const d = img.data;
  for (let i = 0; i < region.length; i++) {
    if (!region[i]) continue;
    const o: Rgb3 = [d[3 * i]!, d[3 * i + 1]!, d[3 * i + 2]!];
    let n = colour(o, i % size, Math.floor(i / size)).map(clamp) as Rgb3;
    if (Math.max(Math.abs(n[0] - o[0]), Math.abs(n[1] - o[1]), Math.abs(n[2] - o[2])) < MIN_CONTRAST) {
      // Too close to the surface to be seen (or masked): push away from the surface's brightness.
      const delta = luminance(img, i) > 128 ? -45 : 45;
      n = o.map((v) => clamp(v + delta)) as Rgb3;
    }
    d[3 * i] = n[0];
    d[3 * i + 1] = n[1];
    d[3 * i + 2] = n[2];
  }
  return region;
}
