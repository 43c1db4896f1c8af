/**
 * A deterministic stand-in for CLIP in cache tests: features derived from the image file's bytes,
 * all multiples of 1/16 in [-8, 8) so that they are exact in float16 and round trips compare exactly.
 */
import { readFile } from "node:fs/promises";
import type { FeatureSourceInfo, ImageFeatures } from "../../src/cache/index.js";

export const FAKE_GRID = 4;
export const FAKE_WIDTH = 8;

export function fakeFeatures(bytes: Uint8Array, layers: number[]): ImageFeatures {
  const P = FAKE_GRID * FAKE_GRID;
  const value = (i: number, salt: number) => (((bytes[(i * 7 + salt) % bytes.length]! + i + 3 * salt) % 256) - 128) / 16;
  return {
    patchTokens: new Map(layers.map((l) => [l, Float32Array.from({ length: P * FAKE_WIDTH }, (_, i) => value(i, l))])),
    pooled: Float32Array.from({ length: FAKE_WIDTH }, (_, i) => value(i, 999)),
    grid: FAKE_GRID,
    width: FAKE_WIDTH,
  };
}

export function fakeSource(opts: { id?: string; layers?: number[]; delayMs?: number; batchSize?: number; calls?: string[] } = {}): FeatureSourceInfo {
  const layers = opts.layers ?? [2, 5];
  return {
    id: opts.id ?? "fake-model;size=32;layers=2,5",
    layers,
    batchSize: opts.batchSize ?? 2,
    async extract(paths) {
      opts.calls?.push(...paths);
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      return Promise.all(paths.map(async (p) => fakeFeatures(await readFile(p), layers)));
    },
  };
}
