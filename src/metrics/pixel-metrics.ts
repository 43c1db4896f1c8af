/**
 * One-call pixel metrics on arrays of images. Each call sorts the pixels once; to get several
 * metrics from one sort, use `PixelAccumulator` directly.
 */
import { PixelAccumulator, type AuproOptions, type ProOptions } from "./pixel-accumulator.js";
import type { MetricImage } from "./types.js";

type Images = ArrayLike<MetricImage>;

export function pixelAuroc(masks: Images, maps: Images): number {
  return new PixelAccumulator().addAll(masks, maps).pixelAuroc();
}

/** PRO as `cal_pro_score(masks, amaps, max_step=200, expect_fpr=0.3)` of APRIL-GAN / AnomalyCLIP. */
export function pro(masks: Images, maps: Images, opts: ProOptions = {}): number {
  return new PixelAccumulator().addAll(masks, maps).pro(opts);
}

/** Exact AUPRO of the official MVTec AD evaluation (anomalib's AUPRO approximates this). */
export function aupro(masks: Images, maps: Images, opts: AuproOptions = {}): number {
  return new PixelAccumulator().addAll(masks, maps).aupro(opts);
}

/** APRIL-GAN's pixel F1-max. */
export function f1Max(masks: Images, maps: Images): number {
  return new PixelAccumulator().addAll(masks, maps).f1Max();
}
