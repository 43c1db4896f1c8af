/** One synthetic image, clean or with one defect, with its exact mask. Pure function of its arguments. */
import { InvalidArgumentError } from "../../errors.js";
import { createRng, type Rng } from "../random.js";
import { cloneRgb, countMask, quantise, type Mask, type Rgb } from "./canvas.js";
import { SYNTH_CATEGORIES } from "./categories.js";
import { paintDefect, type DefectType, type PaintedDefect } from "./defects.js";
import type { ObjectScene } from "./objects.js";

export interface SynthImage {
  size: number;
  /** RGB, interleaved, [size*size*3]. */
  image: Uint8Array;
  /** The same image without its defect (equal to `image` for normal images). */
  clean: Uint8Array;
  /** 1 where `image` differs from `clean` (the defect), else 0; all zero for normal images. */
  mask: Mask;
  /** The object's pixels for object categories; null for textures. */
  silhouette: Mask | null;
  defectType: DefectType | null;
}

export interface SynthImageSpec {
  category: string;
  seed: number;
  size: number;
  /** Distinguishes images: e.g. "train/3", "test/7". */
  key: string;
  defect: DefectType | null;
}

const MAX_TRIES = 50;
/** At 256 px; scaled by area. Smaller defects are redrawn (they would be invisible after resizing). */
const MIN_DEFECT_PIXELS = 25;

export function renderSynthImage(spec: SynthImageSpec): SynthImage {
  const cat = SYNTH_CATEGORIES[spec.category];
  if (cat === undefined) {
    throw new InvalidArgumentError(`unknown synthetic category "${spec.category}"; available: ${Object.keys(SYNTH_CATEGORIES).join(", ")}`);
  }
  if (spec.defect !== null && !cat.defects.includes(spec.defect)) {
    throw new InvalidArgumentError(`synthetic category "${spec.category}" has no defect "${spec.defect}"; it has ${cat.defects.join(", ")}`);
  }
  const rng = createRng(spec.seed, spec.category, spec.key);
  let scene: ObjectScene | null = null;
  let cleanRgb: Rgb;
  if (cat.kind === "texture") {
    cleanRgb = cat.render(rng, spec.size);
  } else {
    // A fresh design stream per image: every image of the category shows the same product design.
    scene = cat.scene(createRng(spec.seed, spec.category, "design"), rng, spec.size);
    cleanRgb = scene.draw();
  }
  const clean = quantise(cleanRgb);
  const silhouette = scene?.silhouette ?? null;
  const result = (image: Uint8Array): SynthImage => ({
    size: spec.size,
    image,
    clean,
    mask: diffMask(clean, image),
    silhouette,
    defectType: spec.defect,
  });
  if (spec.defect === null) return result(clean);
  for (let t = 0; t < MAX_TRIES; t++) {
    const image =
      spec.defect === "missing_part" || spec.defect === "misplaced_part"
        ? editParts(scene, spec.defect, rng)
        : paint(clean, spec.size, spec.defect, rng, silhouette);
    if (image === null) continue;
    const out = result(image);
    if (countMask(out.mask) >= MIN_DEFECT_PIXELS * (spec.size / 256) ** 2) return out;
  }
  throw new InvalidArgumentError(`could not place a "${spec.defect}" defect on "${spec.category}" (${spec.key}) in ${MAX_TRIES} tries; try another --seed`);
}

function paint(clean: Uint8Array, size: number, defect: PaintedDefect, rng: Rng, allowed: Mask | null): Uint8Array | null {
  const img = cloneRgb({ size, data: Float32Array.from(clean) });
  return paintDefect(img, defect, rng, allowed) === null ? null : quantise(img);
}

function editParts(scene: ObjectScene | null, defect: "missing_part" | "misplaced_part", rng: Rng): Uint8Array | null {
  if (scene === null) return null;
  if (defect === "missing_part") {
    if (scene.removableParts === 0) return null;
    return quantise(scene.draw({ missing: rng.int(scene.removableParts) }));
  }
  if (scene.movableParts === 0) return null;
  const part = rng.int(scene.movableParts);
  const size = Math.sqrt(scene.silhouette.length);
  const a = rng.range(0, 2 * Math.PI);
  const dist = rng.range(0.12, 0.25) * size;
  const dx = Math.cos(a) * dist;
  const dy = Math.sin(a) * dist;
  return scene.moveFits(part, dx, dy) ? quantise(scene.draw({ moved: { part, dx, dy } })) : null;
}

function diffMask(a: Uint8Array, b: Uint8Array): Mask {
  const m = new Uint8Array(a.length / 3);
  for (let i = 0; i < m.length; i++) {
    m[i] = a[3 * i] !== b[3 * i] || a[3 * i + 1] !== b[3 * i + 1] || a[3 * i + 2] !== b[3 * i + 2] ? 1 : 0;
  }
  return m;
}
