/** Deterministic random inputs for the metric tests (mulberry32). */
import { at } from "../at.js";

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Masks of random rectangles and speckles, maps correlated with them; `levels` quantises the scores to force ties. */
export function randomPixelCase(seed: number, n: number, h: number, w: number, levels?: number): { masks: number[][][]; amaps: number[][][] } {
  const r = rng(seed);
  const masks: number[][][] = [];
  const amaps: number[][][] = [];
  for (let i = 0; i < n; i++) {
    const m = Array.from({ length: h }, () => new Array<number>(w).fill(0));
    const defects = Math.floor(r() * 3);
    for (let d = 0; d < defects; d++) {
      const y0 = Math.floor(r() * h);
      const x0 = Math.floor(r() * w);
      const hh = 1 + Math.floor(r() * 5);
      const ww = 1 + Math.floor(r() * 5);
      for (let y = y0; y < Math.min(h, y0 + hh); y++) for (let x = x0; x < Math.min(w, x0 + ww); x++) at(m, y)[x] = 1;
    }
    for (let k = 0; k < 3; k++) if (r() < 0.5) at(m, Math.floor(r() * h))[Math.floor(r() * w)] = 1;
    const a = m.map((row) =>
      row.map((v) => {
        const s = v * 0.6 + r() * 0.8 - 0.2;
        return levels === undefined ? s : Math.round(s * levels) / levels;
      }),
    );
    masks.push(m);
    amaps.push(a);
  }
  return { masks, amaps };
}
