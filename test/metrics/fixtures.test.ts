/** The metrics against test/fixtures/metrics (scikit-learn 1.2.1 / scikit-image 0.19.3 / MVTec AD code outputs). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { aupro, averagePrecision, f1Max, imageAuroc, labelRegions8, MetricUndefinedError, pixelAuroc, pro, PixelAccumulator } from "../../src/metrics/index.js";
import { at } from "../at.js";

interface Expected {
  value: number | null;
  error: boolean;
}
const load = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/metrics/${name}`, import.meta.url), "utf8"));

const image = load("image_level.json") as {
  cases: { name: string; labels: number[]; scores: number[]; expected: Record<"i_auroc" | "i_ap", Expected> }[];
};
const pixel = load("pixel_level.json") as {
  cases: {
    name: string;
    masks: number[][][];
    amaps: number[][][];
    expected: Record<"p_auroc" | "f1_max" | "pro" | "aupro_exact", Expected>;
    diagnostics: {
      regions_per_image: number[];
      region_areas_per_image: number[][];
      pro_num_thresholds?: number;
      pro_curve?: { thresholds: number[]; fprs: number[]; pros: number[] };
    };
  }[];
};

function check(name: string, exp: Expected, compute: () => number, tol: number): void {
  if (exp.error) {
    assert.throws(compute, MetricUndefinedError, name);
    return;
  }
  const got = compute();
  assert.ok(Math.abs(got - exp.value!) <= tol, `${name}: got ${got}, expected ${exp.value}`);
}

for (const c of image.cases) {
  test(`image-level fixture ${c.name}`, () => {
    check(`${c.name} i_auroc`, c.expected.i_auroc, () => imageAuroc(c.labels, c.scores), 1e-9);
    check(`${c.name} i_ap`, c.expected.i_ap, () => averagePrecision(c.labels, c.scores), 1e-9);
  });
}

for (const c of pixel.cases) {
  test(`pixel-level fixture ${c.name}`, () => {
    check(`${c.name} p_auroc`, c.expected.p_auroc, () => pixelAuroc(c.masks, c.amaps), 1e-9);
    check(`${c.name} f1_max`, c.expected.f1_max, () => f1Max(c.masks, c.amaps), 1e-9);
    check(`${c.name} pro`, c.expected.pro, () => pro(c.masks, c.amaps), 1e-9);
    check(`${c.name} aupro`, c.expected.aupro_exact, () => aupro(c.masks, c.amaps), 1e-9);
  });

  test(`pixel-level fixture ${c.name}: regions and PRO curve match the diagnostics`, () => {
    c.masks.forEach((m, i) => {
      const r = labelRegions8(m.flat(), m.length, at(m, 0).length);
      assert.equal(r.count, c.diagnostics.regions_per_image[i]);
      assert.deepEqual(
        [...r.areas].sort((a, b) => a - b),
        [...at(c.diagnostics.region_areas_per_image, i)].sort((a, b) => a - b),
      );
    });
    const curve = c.diagnostics.pro_curve;
    if (c.expected.pro.error) return;
    assert.ok(curve !== undefined, "fixture has a pro_curve");
    const got = new PixelAccumulator().addAll(c.masks, c.amaps).proCurve();
    assert.equal(got.thresholds.length, c.diagnostics.pro_num_thresholds);
    assert.deepEqual([...got.thresholds], curve.thresholds, "thresholds bit-identical to np.arange");
    assert.deepEqual([...got.fprs], curve.fprs);
    got.pros.forEach((p, i) => {
      const want = at(curve.pros, i);
      assert.ok(Math.abs(p - want) < 1e-12, `pro[${i}] ${p} vs ${want}`);
    });
  });
}
