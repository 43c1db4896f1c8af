/**
 * Texture categories (whole image is the surface, as MVTec's carpet/grid/leather/tile/wood). Each
 * normal image varies in phase, colour and noise so that "normal" is a distribution, not one picture.
 */
import type { Rng } from "../random.js";
import { fbm, makeRgb, setPixel, type Rgb } from "./canvas.js";

export type TextureRenderer = (rng: Rng, size: number) => Rgb;

const fract = (v: number) => v - Math.floor(v);

/** Carpet-like plain weave: alternating over/under threads with fibre noise. */
export const weave: TextureRenderer = (rng, size) => {
  const img = makeRgb(size);
  const period = (size / 256) * rng.range(9, 11);
  const ox = rng.range(0, period * 2);
  const oy = rng.range(0, period * 2);
  const base = [rng.range(150, 170), rng.range(60, 75), rng.range(55, 70)];
  const fibre = fbm(rng, 32, 3);
  const tone = fbm(rng, 4, 2);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x + ox) / period;
      const v = (y + oy) / period;
      const over = (Math.floor(u) + Math.floor(v)) % 2 === 0;
      const shade = Math.sin(Math.PI * (over ? fract(v) : fract(u)));
      const k = (0.5 + 0.5 * shade) * (0.85 + 0.3 * tone(x / size, y / size)) + 0.25 * (fibre(x / size, y / size) - 0.5);
      setPixel(img, y * size + x, base[0]! * k, base[1]! * k, base[2]! * k);
    }
  }
  return img;
};

/** Wood grain: warped growth rings plus fine streaks along the grain. */
export const wood: TextureRenderer = (rng, size) => {
  const img = makeRgb(size);
  const angle = rng.range(-0.08, 0.08);
  const period = rng.range(0.05, 0.07);
  const warp = fbm(rng, 3, 3);
  const streak = fbm(rng, 48, 2);
  const phase = rng.next();
  const light = [rng.range(200, 215), rng.range(155, 170), rng.range(105, 120)];
  const dark = [rng.range(130, 145), rng.range(82, 95), rng.range(45, 55)];
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = x / size;
      const v = y / size;
      const across = u * c + v * s;
      const along = -u * s + v * c;
      const t = across / period + 4 * warp(u, v) + phase;
      const ring = (0.5 + 0.5 * Math.sin(2 * Math.PI * t)) ** 1.6;
      const grain = streak(across * 0.5, along * 0.06 + 0.4) - 0.5;
      const f = Math.min(1, Math.max(0, ring + 0.35 * grain));
      setPixel(img, y * size + x, dark[0]! + (light[0]! - dark[0]!) * f, dark[1]! + (light[1]! - dark[1]!) * f, dark[2]! + (light[2]! - dark[2]!) * f);
    }
  }
  return img;
};

/** Metal wire mesh (MVTec "grid"): bright rounded wires over a dark background. */
export const grid: TextureRenderer = (rng, size) => {
  const img = makeRgb(size);
  const period = (size / 256) * rng.range(20, 23);
  const wire = rng.range(0.16, 0.2);
  const angle = rng.range(-0.06, 0.06);
  const ox = rng.range(0, period);
  const oy = rng.range(0, period);
  const dirt = fbm(rng, 16, 3);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x * c + y * s + ox) / period;
      const v = (-x * s + y * c + oy) / period;
      const du = Math.abs(fract(u) - 0.5);
      const dv = Math.abs(fract(v) - 0.5);
      const n = dirt(x / size, y / size);
      let g = 35 + 25 * n;
      const d = Math.min(du, dv);
      if (d < wire) g = 110 + 110 * Math.cos((Math.PI / 2) * (d / wire)) + 20 * (n - 0.5);
      setPixel(img, y * size + x, g, g, g * 1.03);
    }
  }
  return img;
};

/** Ceramic tiles with grout; each tile its own shade, a mottled glaze on top. */
export const tiles: TextureRenderer = (rng, size) => {
  const img = makeRgb(size);
  const period = (size / 256) * rng.range(60, 66);
  const groutHalf = (size / 256) * 2;
  const ox = rng.range(0, period);
  const oy = rng.range(0, period);
  const glaze = fbm(rng, 12, 4);
  const shades = Array.from({ length: 64 }, () => rng.range(-14, 14));
  const base = [rng.range(170, 185), rng.range(175, 190), rng.range(190, 205)];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x + ox) / period;
      const v = (y + oy) / period;
      const fu = fract(u) * period;
      const fv = fract(v) * period;
      const n = glaze(x / size, y / size) - 0.5;
      const i = y * size + x;
      if (fu < groutHalf || fu > period - groutHalf || fv < groutHalf || fv > period - groutHalf) {
        setPixel(img, i, 95 + 20 * n, 92 + 20 * n, 88 + 20 * n);
      } else {
        const t = shades[(((Math.floor(u) * 7 + Math.floor(v) * 13) % 64) + 64) % 64]! + 40 * n;
        setPixel(img, i, base[0]! + t, base[1]! + t, base[2]! + t);
      }
    }
  }
  return img;
};
