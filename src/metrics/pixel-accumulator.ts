/**
 * Pixel-level metrics over many images in bounded memory: `add` keeps only each pixel's score (as
 * float32 when exact) split into normal and defect pixels, plus the defect pixel's region id; the
 * masks and maps themselves are not retained. Queries sort only the defect pixels (radix sort) and
 * rank the normal pixels against them in one pass; the result is shared by every metric until the
 * next `add`.
 */
import { labelRegions8 } from "./connected-components.js";
import { MetricInputError } from "./errors.js";
import { flattenImage, requireBinary, requireFinite } from "./inputs.js";
import { auproExact, calProCurve, calProScore, type ProCurve, type RegionScores } from "./pro.js";
import { sortScores } from "./radix-sort.js";
import { aurocRanked, f1MaxRanked, rankAgainstPositives, type RankedScores } from "./ranking.js";
import { ScoreBuffer, Uint32Buffer } from "./score-buffer.js";
import type { MetricImage } from "./types.js";

export interface ProOptions {
  /** Number of threshold steps between min and max score (cal_pro_score's max_step). */
  steps?: number;
  /** Keep thresholds with fpr strictly below this (cal_pro_score's expect_fpr). */
  maxFpr?: number;
}

export interface AuproOptions {
  /** Integration limit of the fpr axis (the MVTec AD evaluation uses 0.3). */
  maxFpr?: number;
}

export class PixelAccumulator {
  private readonly neg = new ScoreBuffer();
  private readonly pos = new ScoreBuffer();
  private readonly posRegion = new Uint32Buffer();
  private readonly regionArea = new Uint32Buffer();
  private sorted = true;
  private ranked: RankedScores | undefined;
  private images = 0;

  get imageCount(): number {
    return this.images;
  }

  /**
   * Adds one image. `index` only labels error messages (defaults to the running image count).
   * Masks are 0/1; regions are 8-connected components of this image's mask alone.
   */
  add(mask: MetricImage, map: MetricImage, index = this.images): void {
    const m = flattenImage(mask, "masks", index);
    const a = flattenImage(map, "maps", index);
    if (m.height !== a.height || m.width !== a.width) {
      throw new MetricInputError(
        "maps",
        index,
        `is ${a.height} x ${a.width} but its mask is ${m.height} x ${m.width}; resize the map (or mask) to the same size first`,
      );
    }
    requireBinary(m.data, "masks", index, m.width);
    requireFinite(a.data, "maps", index, a.width);
    const needs64 = !(a.data instanceof Float32Array || a.data instanceof Uint8Array) && !float32Exact(a.data);
    const regions = labelRegions8(m.data, m.height, m.width);
    let nPos = 0;
    for (const area of regions.areas) nPos += area;
    const n = m.data.length;
    this.neg.reserve(n - nPos, needs64);
    this.pos.reserve(nPos, needs64);
    this.posRegion.reserve(nPos);
    const base = this.regionArea.length;
    this.regionArea.reserve(regions.count);
    this.regionArea.storage().set(regions.areas, base);
    this.regionArea.length += regions.count;
    const { labels } = regions;
    const values = a.data;
    const negOut = this.neg.storage();
    const posOut = this.pos.storage();
    const regionOut = this.posRegion.storage();
    let ni = this.neg.length;
    let pi = this.pos.length;
    for (let p = 0; p < n; p++) {
      const l = labels[p]!;
      if (l === 0) negOut[ni++] = values[p]!;
      else {
        regionOut[pi] = base + l - 1;
        posOut[pi++] = values[p]!;
      }
    }
    this.neg.length = ni;
    this.pos.length = pi;
    this.posRegion.length = pi;
    this.images++;
    this.sorted = false;
    this.ranked = undefined;
  }

  /** Adds images pairwise; `masks[i]` belongs to `maps[i]`. */
  addAll(masks: ArrayLike<MetricImage>, maps: ArrayLike<MetricImage>): this {
    if (masks.length !== maps.length) {
      throw new MetricInputError("maps", undefined, `has ${maps.length} images but masks has ${masks.length}; they must pair up one to one`);
    }
    for (let i = 0; i < masks.length; i++) this.add(masks[i]!, maps[i]!, i);
    return this;
  }

  private scores(): RegionScores {
    if (this.images === 0) throw new MetricInputError("masks", undefined, "no image was added; at least one is needed");
    const neg = this.neg.view();
    const pos = this.pos.view();
    const posRegion = this.posRegion.view();
    if (!this.sorted) {
      sortScores(pos, posRegion);
      this.sorted = true;
    }
    return { neg, pos, posRegion, regionArea: this.regionArea.view() };
  }

  private rank(): RankedScores {
    const s = this.scores();
    this.ranked ??= rankAgainstPositives(s.neg, s.pos);
    return this.ranked;
  }

  /** P-AUROC: ROC AUC over all pixels of all images flattened together (mask = label, map = score). */
  pixelAuroc(): number {
    return aurocRanked(this.rank(), "p_auroc", "pixels");
  }

  f1Max(): number {
    return f1MaxRanked(this.rank());
  }

  pro(opts: ProOptions = {}): number {
    const { steps, maxFpr } = proDefaults(opts);
    return calProScore(this.scores(), steps, maxFpr);
  }

  /** The per-threshold (fpr, pro) points `pro` integrates, for plots and debugging. */
  proCurve(opts: Pick<ProOptions, "steps"> = {}): ProCurve {
    return calProCurve(this.scores(), proDefaults(opts).steps);
  }

  aupro(opts: AuproOptions = {}): number {
    const maxFpr = opts.maxFpr ?? 0.3;
    requireFraction(maxFpr, "maxFpr");
    const s = this.scores();
    return auproExact(this.rank(), s.posRegion, s.regionArea, maxFpr);
  }
}

function proDefaults(opts: ProOptions): { steps: number; maxFpr: number } {
  const steps = opts.steps ?? 200;
  const maxFpr = opts.maxFpr ?? 0.3;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new MetricInputError("steps", undefined, `must be a positive integer (cal_pro_score uses 200), got ${steps}`);
  }
  requireFraction(maxFpr, "maxFpr");
  return { steps, maxFpr };
}

function requireFraction(v: number, name: string): void {
  if (!(v > 0 && v <= 1)) throw new MetricInputError(name, undefined, `must be in (0, 1] (the papers use 0.3), got ${v}`);
}

function float32Exact(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Math.fround(v) !== v) return false;
  }
  return true;
}
