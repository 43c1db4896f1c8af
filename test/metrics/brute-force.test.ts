/** Fast metrics against brute-force transcriptions of their definitions, on random data with and without ties. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { aupro, averagePrecision, f1Max, imageAuroc, labelRegions8, pixelAuroc, PixelAccumulator, pro } from "../../src/metrics/index.js";
import { at } from "../at.js";
import { bruteAp, bruteAuproExact, bruteAuroc, bruteCalPro, bruteF1, floodLabels, rankSumAuroc } from "./brute-force.js";
import { randomPixelCase, rng } from "./random-data.js";

const close = (got: number, want: number, tol: number, what: string) => assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want}`);

test("image metrics equal pair counting / threshold loops on random scores with ties", () => {
  for (let seed = 1; seed <= 30; seed++) {
    const r = rng(seed);
    const n = 5 + Math.floor(r() * 150);
    const levels = seed % 3 === 0 ? 4 : seed % 3 === 1 ? 50 : 0;
    const labels = Array.from({ length: n }, () => (r() < 0.3 ? 1 : 0));
    labels[0] = 1;
    labels[1] = 0;
    const scores = labels.map((l) => {
      const s = l * 0.5 + r() * 2 - 1;
      return levels === 0 ? s : Math.round(s * levels) / levels;
    });
    close(imageAuroc(labels, scores), bruteAuroc(labels, scores), 1e-12, `auroc seed ${seed}`);
    close(averagePrecision(labels, scores), bruteAp(labels, scores), 1e-12, `ap seed ${seed}`);
  }
});

test("8-connected labelling equals a flood fill (same partition of the pixels)", () => {
  const r = rng(7);
  for (let k = 0; k < 40; k++) {
    const h = 1 + Math.floor(r() * 20);
    const w = 1 + Math.floor(r() * 20);
    const density = r();
    const mask = Array.from({ length: h }, () => Array.from({ length: w }, () => (r() < density ? 1 : 0)));
    const ref = floodLabels(mask).flat();
    const got = labelRegions8(mask.flat(), h, w);
    assert.equal(got.count, Math.max(0, ...ref));
    const map = new Map<number, number>();
    ref.forEach((l, p) => {
      assert.equal(got.labels[p] === 0, l === 0);
      if (l === 0) return;
      if (!map.has(l)) map.set(l, at(got.labels, p));
      assert.equal(got.labels[p], map.get(l), `pixel ${p} of ${h}x${w}`);
    });
    assert.equal(new Set(map.values()).size, map.size);
    const areas = new Array(got.count).fill(0);
    got.labels.forEach((l) => {
      if (l > 0) areas[l - 1]++;
    });
    assert.deepEqual([...got.areas], areas);
  }
});

for (const [seed, levels] of [
  [11, undefined],
  [12, 10],
  [13, 3],
  [14, 200],
] as const) {
  test(`pixel metrics equal brute force (seed ${seed}, score levels ${levels ?? "continuous"})`, () => {
    const { masks, amaps } = randomPixelCase(seed, 5, 12, 14, levels);
    const labels = masks.flat(2);
    const scores = amaps.flat(2);
    close(pixelAuroc(masks, amaps), bruteAuroc(labels, scores), 1e-12, "p_auroc");
    close(f1Max(masks, amaps), bruteF1(labels, scores), 1e-12, "f1_max");
    close(pro(masks, amaps), bruteCalPro(masks, amaps), 1e-12, "pro");
    close(pro(masks, amaps, { steps: 37, maxFpr: 0.5 }), bruteCalPro(masks, amaps, 37, 0.5), 1e-12, "pro(37, 0.5)");
    close(aupro(masks, amaps), bruteAuproExact(masks, amaps), 1e-12, "aupro");
    close(aupro(masks, amaps, { maxFpr: 0.05 }), bruteAuproExact(masks, amaps, 0.05), 1e-12, "aupro(0.05)");
  });
}

test("Float32Array maps (float32 storage) give the same results as the same values as nested numbers", () => {
  const { masks, amaps } = randomPixelCase(21, 6, 16, 10, 64);
  const f32 = amaps.map((a) => ({ data: Float32Array.from(a.flat()), height: 16, width: 10 }));
  const nested = f32.map((m) => Array.from({ length: 16 }, (_, y) => Array.from(m.data.subarray(y * 10, y * 10 + 10))));
  const u8 = masks.map((m) => ({ data: Uint8Array.from(m.flat()), height: 16, width: 10 }));
  const labels = masks.flat(2);
  const scores = nested.flat(2);
  close(pixelAuroc(u8, f32), bruteAuroc(labels, scores), 1e-12, "p_auroc f32");
  close(pro(u8, f32), bruteCalPro(masks, nested), 1e-12, "pro f32");
  close(aupro(masks, f32), bruteAuproExact(masks, nested), 1e-12, "aupro f32");
});

test("one accumulator answers every metric, and adding after a query re-sorts correctly", () => {
  const { masks, amaps } = randomPixelCase(31, 6, 10, 10);
  const acc = new PixelAccumulator();
  for (let i = 0; i < 3; i++) acc.add(at(masks, i), at(amaps, i));
  close(acc.pixelAuroc(), bruteAuroc(masks.slice(0, 3).flat(2), amaps.slice(0, 3).flat(2)), 1e-12, "first half");
  for (let i = 3; i < 6; i++) acc.add(at(masks, i), at(amaps, i));
  assert.equal(acc.imageCount, 6);
  close(acc.pixelAuroc(), bruteAuroc(masks.flat(2), amaps.flat(2)), 1e-12, "all");
  close(acc.pro(), bruteCalPro(masks, amaps), 1e-12, "pro");
  close(acc.aupro(), bruteAuproExact(masks, amaps), 1e-12, "aupro");
});

test("PRO counts a pixel whose score equals a threshold as negative (strict >), on an exact integer grid", () => {
  const { masks, amaps } = randomPixelCase(41, 5, 12, 12, 20);
  // Scores 0..200 with min 0 and max 200: delta = 1, so every score is exactly a threshold.
  const ints = amaps.map((a) => a.map((row) => row.map((v) => Math.min(200, Math.max(0, Math.round((v + 0.2) * 130))))));
  const firstRow = at(at(ints, 0), 0);
  firstRow[0] = 0;
  firstRow[1] = 200;
  const got = new PixelAccumulator().addAll(masks, ints).proCurve();
  assert.deepEqual(
    [...got.thresholds],
    Array.from({ length: 200 }, (_, i) => i),
  );
  close(pro(masks, ints), bruteCalPro(masks, ints), 1e-12, "pro on integer grid");
  close(aupro(masks, ints), bruteAuproExact(masks, ints), 1e-12, "aupro on integer grid");
});

test("P-AUROC on a large, heavy-tailed map with ties and normals outside the defect range equals the mid-rank formula", () => {
  const r = rng(77);
  const h = 300;
  const w = 400;
  const mask = new Uint8Array(h * w);
  const map = new Float32Array(h * w);
  for (let p = 0; p < h * w; p++) {
    mask[p] = r() < 0.05 ? 1 : 0;
    // Exponential tails put most distinct values in a few lookup cells; rounding makes ties.
    const e = (-Math.log(1 - r())) ** 3;
    map[p] = r() < 0.3 ? Math.round(e * 8) / 8 : e + mask[p]! * 0.7;
  }
  map[0] = -50;
  map[1] = 1e6;
  mask[0] = 0;
  mask[1] = 0;
  const got = pixelAuroc([{ data: mask, height: h, width: w }], [{ data: map, height: h, width: w }]);
  close(got, rankSumAuroc(mask, map), 1e-12, "p_auroc large");
});
