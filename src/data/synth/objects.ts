/**
 * Object categories (one item on a plain background, as MVTec's screw/capsule/nut or VisA's PCBs).
 * A scene fixes the pose and noise of one image and can be drawn again with a part removed or moved,
 * which is how "missing part" and "misplaced part" defects get masks that are exactly the pixels that changed.
 */
import type { Rng } from "../random.js";
import { fbm, makeRgb, setPixel, type Field, type Mask, type Rgb } from "./canvas.js";

export interface PartEdit {
  missing?: number;
  moved?: { part: number; dx: number; dy: number };
}

export interface ObjectScene {
  /** 1 where the clean object covers the pixel. Defects of object categories stay inside it. */
  silhouette: Mask;
  /** Parts that a missing-part defect may remove. */
  removableParts: number;
  /** Parts that a misplaced-part defect may move (0 = not applicable). */
  movableParts: number;
  /** Whether moving part `part` by (dx, dy) pixels keeps it on the object. */
  moveFits(part: number, dx: number, dy: number): boolean;
  draw(edit?: PartEdit): Rgb;
}

export type ObjectFactory = (design: Rng, rng: Rng, size: number) => ObjectScene;

interface Pose {
  cx: number;
  cy: number;
  cos: number;
  sin: number;
}

/** Image pixel centre -> object coordinates (pixels, rotated into the object's frame). */
function toLocal(p: Pose, x: number, y: number): [number, number] {
  const dx = x + 0.5 - p.cx;
  const dy = y + 0.5 - p.cy;
  return [dx * p.cos + dy * p.sin, -dx * p.sin + dy * p.cos];
}

function pose(rng: Rng, size: number, jitter: number, angle: number): Pose {
  return { cx: size / 2 + rng.range(-jitter, jitter) * size, cy: size / 2 + rng.range(-jitter, jitter) * size, cos: Math.cos(angle), sin: Math.sin(angle) };
}

/** A softly lit, slightly mottled backdrop (a photo booth's background plate). */
function background(design: Rng, rng: Rng, size: number): (x: number, y: number) => [number, number, number] {
  const base = [design.range(185, 205), design.range(188, 208), design.range(192, 212)];
  const mottle = fbm(rng, 6, 3);
  const lx = rng.range(0.3, 0.7);
  const ly = rng.range(0.3, 0.7);
  return (x, y) => {
    const u = x / size;
    const v = y / size;
    const k = 1 - 0.25 * ((u - lx) ** 2 + (v - ly) ** 2) + 0.08 * (mottle(u, v) - 0.5);
    return [base[0]! * k, base[1]! * k, base[2]! * k];
  };
}

function render(size: number, paint: (x: number, y: number) => [number, number, number]): Rgb {
  const img = makeRgb(size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) setPixel(img, y * size + x, ...paint(x, y));
  return img;
}

function silhouetteOf(size: number, inside: (x: number, y: number) => boolean): Mask {
  const m = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) m[y * size + x] = inside(x, y) ? 1 : 0;
  return m;
}

const grey = (g: number): [number, number, number] => [g, g, g * 1.02];

/** A slotted screw: round head, threaded shaft, pointed tip (the tip is the removable part). */
export const screw: ObjectFactory = (design, rng, size) => {
  const p = pose(rng, size, 0.06, rng.range(0, 2 * Math.PI));
  const bg = background(design, rng, size);
  const half = 0.27 * size;
  const hw = 0.045 * size;
  const headR = 0.085 * size;
  const tipStart = half - 0.3 * half;
  const pitch = 0.022 * size;
  const grain = fbm(rng, 24, 2);
  const shaftHalfWidth = (u: number, tipMissing: boolean) => {
    if (u < -half || u > half) return -1;
    if (u > tipStart) return tipMissing ? -1 : hw * ((half - u) / (half - tipStart));
    return hw;
  };
  const inside = (x: number, y: number, tipMissing: boolean) => {
    const [u, v] = toLocal(p, x, y);
    if ((u + half) ** 2 + v ** 2 <= headR ** 2) return "head";
    return Math.abs(v) <= shaftHalfWidth(u, tipMissing) ? "shaft" : null;
  };
  const paint = (x: number, y: number, tipMissing: boolean): [number, number, number] => {
    const part = inside(x, y, tipMissing);
    if (part === null) return bg(x, y);
    const [u, v] = toLocal(p, x, y);
    const n = 18 * (grain(x / size, y / size) - 0.5);
    if (part === "head") {
      const r = Math.hypot(u + half, v) / headR;
      if (Math.abs(v) < 0.012 * size && r < 0.75) return grey(45 + n);
      return grey(120 + 80 * (1 - r * r) + n);
    }
    const across = Math.sqrt(Math.max(0, 1 - (v / hw) ** 2));
    const thread = 0.82 + 0.18 * Math.sin((2 * Math.PI * u) / pitch + (1.2 * v) / hw);
    return grey((70 + 120 * across) * thread + n);
  };
  return {
    silhouette: silhouetteOf(size, (x, y) => inside(x, y, false) !== null),
    removableParts: 1,
    movableParts: 0,
    moveFits: () => false,
    draw: (edit) => render(size, (x, y) => paint(x, y, edit?.missing === 0)),
  };
};

/** A two-colour gelatin capsule with a seam, lit from above. No parts. */
export const capsule: ObjectFactory = (design, rng, size) => {
  const p = pose(rng, size, 0.05, rng.range(-0.3, 0.3) + (rng.next() < 0.5 ? Math.PI : 0));
  const bg = background(design, rng, size);
  const a = 0.26 * size;
  const r = 0.11 * size;
  const capColour = [design.range(190, 215), design.range(50, 80), design.range(30, 55)];
  const bodyColour = [design.range(225, 240), design.range(215, 230), design.range(190, 205)];
  const speckle = fbm(rng, 32, 2);
  const dist = (u: number, v: number) => Math.hypot(Math.max(Math.abs(u) - a, 0), v);
  const paint = (x: number, y: number): [number, number, number] => {
    const [u, v] = toLocal(p, x, y);
    const d = dist(u, v);
    if (d > r) return bg(x, y);
    const shade = 0.5 + 0.45 * Math.sqrt(1 - (d / r) ** 2) + 0.06 * (speckle(x / size, y / size) - 0.5);
    const highlight = v > -0.6 * r && v < -0.35 * r && Math.abs(u) < a ? 25 : 0;
    const seam = Math.abs(u - 0.1 * a) < 0.006 * size ? 0.8 : 1;
    const c = u < 0.1 * a ? capColour : bodyColour;
    return [c[0]! * shade * seam + highlight, c[1]! * shade * seam + highlight, c[2]! * shade * seam + highlight];
  };
  return {
    silhouette: silhouetteOf(size, (x, y) => dist(...toLocal(p, x, y)) <= r),
    removableParts: 0,
    movableParts: 0,
    moveFits: () => false,
    draw: () => render(size, paint),
  };
};

interface Component {
  kind: "chip" | "cap";
  u: number;
  v: number;
  hu: number;
  hv: number;
}

/** A small PCB: green board, copper traces and pads, three ICs and an electrolytic capacitor (the parts). */
export const pcb: ObjectFactory = (design, rng, size) => {
  const s = size / 256;
  const p = pose(rng, size, 0.02, rng.range(-0.04, 0.04));
  const bg = background(design, rng, size);
  const bu = 0.38 * size;
  const bv = 0.3 * size;
  // The board's design (trace routes, component positions) comes from `design`, so every image of
  // the category shows the same product; only pose, lighting and noise vary per image.
  const traces: [number, number, number, number][] = [];
  for (let t = 0; t < 10; t++) {
    const horizontal = design.next() < 0.5;
    const c = design.range(-0.85, 0.85) * (horizontal ? bv : bu);
    const from = design.range(-0.9, 0) * (horizontal ? bu : bv);
    const to = from + design.range(0.3, 0.9) * (horizontal ? bu : bv);
    traces.push(horizontal ? [from, c, to, c] : [c, from, c, to]);
  }
  const parts: Component[] = [
    { kind: "chip", u: -0.45 * bu, v: -0.35 * bv, hu: 22 * s, hv: 14 * s },
    { kind: "chip", u: 0.4 * bu, v: -0.4 * bv, hu: 16 * s, hv: 16 * s },
    { kind: "chip", u: -0.3 * bu, v: 0.45 * bv, hu: 26 * s, hv: 11 * s },
    { kind: "cap", u: 0.45 * bu, v: 0.4 * bv, hu: 13 * s, hv: 13 * s },
  ].map((c) => ({ ...c, u: c.u + design.range(-6, 6) * s, v: c.v + design.range(-6, 6) * s }) as Component);
  const grain = fbm(rng, 20, 2);
  const onBoard = (u: number, v: number) => Math.abs(u) <= bu && Math.abs(v) <= bv;
  const componentColour = (c: Component, du: number, dv: number): [number, number, number] | null => {
    if (c.kind === "cap") {
      const r = Math.hypot(du, dv) / c.hu;
      if (r > 1) return null;
      if (r > 0.85) return [90, 90, 95];
      if (du > 0.5 * c.hu) return [60, 60, 70];
      return [45 + 30 * (1 - r), 70 + 40 * (1 - r), 140 + 50 * (1 - r)];
    }
    const pin = 4 * s;
    if (Math.abs(du) <= c.hu && Math.abs(dv) <= c.hv) {
      if (Math.hypot(du + 0.7 * c.hu, dv + 0.5 * c.hv) < 2.2 * s) return [120, 120, 120];
      return grey(38 + 10 * (1 - Math.abs(dv) / c.hv));
    }
    if (Math.abs(du) <= c.hu - 2 * s && Math.abs(dv) <= c.hv + pin && Math.floor((du + c.hu) / (4 * s)) % 2 === 0) return [200, 200, 205];
    return null;
  };
  const inComponentBox = (c: Component, du: number, dv: number) => Math.abs(du) <= c.hu && Math.abs(dv) <= c.hv + (c.kind === "chip" ? 4 * s : 0);
  const noiseAt: Field = (x, y) => grain(x / size, y / size) - 0.5;
  const paint = (x: number, y: number, edit?: PartEdit): [number, number, number] => {
    const [u, v] = toLocal(p, x, y);
    if (!onBoard(u, v)) return bg(x, y);
    for (let i = 0; i < parts.length; i++) {
      if (edit?.missing === i) continue;
      const c = parts[i]!;
      let du = u - c.u;
      let dv = v - c.v;
      if (edit?.moved?.part === i) {
        du -= edit.moved.dx;
        dv -= edit.moved.dy;
      }
      if (inComponentBox(c, du, dv)) {
        const col = componentColour(c, du, dv);
        if (col) return col;
      }
    }
    const n = 16 * noiseAt(x, y);
    for (const [u0, v0, u1, v1] of traces) {
      const onTrace = u0 === u1 ? Math.abs(u - u0) < 1.6 * s && v >= v0 && v <= v1 : Math.abs(v - v0) < 1.6 * s && u >= u0 && u <= u1;
      if (onTrace) return [70 + n, 150 + n, 70 + n];
      if (Math.hypot(u - u1, v - v1) < 3.5 * s) return [205 + n, 170 + n, 80 + n];
    }
    const edge = Math.min(bu - Math.abs(u), bv - Math.abs(v)) < 3 * s ? 0.75 : 1;
    return [25 * edge + n, 105 * edge + n, 50 * edge + n];
  };
  const margin = 3 * s;
  return {
    silhouette: silhouetteOf(size, (x, y) => onBoard(...toLocal(p, x, y))),
    removableParts: parts.length,
    movableParts: parts.length,
    moveFits: (i, dx, dy) => {
      const c = parts[i]!;
      const pad = c.kind === "chip" ? 4 * s : 0;
      return Math.abs(c.u + dx) + c.hu + margin <= bu && Math.abs(c.v + dy) + c.hv + pad + margin <= bv;
    },
    draw: (edit) => render(size, (x, y) => paint(x, y, edit)),
  };
};

/** A hexagon nut with a threaded bore; a removable part is one of its six corners (broken off). */
export const nut: ObjectFactory = (design, rng, size) => {
  const p = pose(rng, size, 0.05, rng.range(0, Math.PI / 3));
  const bg = background(design, rng, size);
  const R = 0.3 * size;
  const bore = 0.13 * size;
  const chamfer = 0.17 * size;
  const cut = rng.range(0.28, 0.4) * R;
  const light = rng.range(0, 2 * Math.PI);
  const grain = fbm(rng, 28, 2);
  const apothem = R * Math.cos(Math.PI / 6);
  const inHexagon = (u: number, v: number) => {
    for (let k = 0; k < 6; k++) {
      const a = (k * Math.PI) / 3 + Math.PI / 6;
      if (u * Math.cos(a) + v * Math.sin(a) > apothem) return false;
    }
    return true;
  };
  const brokenCorner = (u: number, v: number, k: number) => {
    const a = (k * Math.PI) / 3;
    return u * Math.cos(a) + v * Math.sin(a) > R - cut;
  };
  const paint = (x: number, y: number, edit?: PartEdit): [number, number, number] => {
    const [u, v] = toLocal(p, x, y);
    const r = Math.hypot(u, v);
    if (!inHexagon(u, v) || r < bore || (edit?.missing !== undefined && brokenCorner(u, v, edit.missing))) return bg(x, y);
    const n = 16 * (grain(x / size, y / size) - 0.5);
    const t = Math.atan2(v, u);
    if (r < chamfer) return grey(85 + 30 * Math.sin(t * 14 + r * 0.8) + n);
    const facet = Math.round((t - Math.PI / 6) / (Math.PI / 3)) * (Math.PI / 3) + Math.PI / 6;
    return grey(130 + 55 * Math.cos(facet - light) + 20 * (1 - r / R) + n);
  };
  return {
    silhouette: silhouetteOf(size, (x, y) => {
      const [u, v] = toLocal(p, x, y);
      return inHexagon(u, v) && Math.hypot(u, v) >= bore;
    }),
    removableParts: 6,
    movableParts: 0,
    moveFits: () => false,
    draw: (edit) => render(size, (x, y) => paint(x, y, edit)),
  };
};
