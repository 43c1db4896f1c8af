import { test } from "node:test";
import assert from "node:assert/strict";
import { SimclipError } from "../../src/errors.js";
import { aupro, averagePrecision, f1Max, imageAuroc, MetricInputError, MetricUndefinedError, pixelAuroc, pro } from "../../src/metrics/index.js";

const mask = [
  [0, 1],
  [0, 0],
];
const map = [
  [0.1, 0.9],
  [0.2, 0.3],
];

function throwsMetric(fn: () => unknown, argument: string, index: number | undefined, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MetricInputError && e instanceof SimclipError, `typed error, got ${String(e)}`);
    assert.equal(e.argument, argument);
    assert.equal(e.index, index);
    assert.match(e.message, pattern);
    return true;
  });
}

test("image-level inputs: length mismatch, empty, NaN/Infinity, non-binary labels", () => {
  throwsMetric(() => imageAuroc([0, 1, 1], [0.1, 0.2]), "scores", undefined, /2 entries but labels has 3/);
  throwsMetric(() => averagePrecision([], []), "labels", undefined, /empty/);
  throwsMetric(() => imageAuroc([0, 1], [0.1, NaN]), "scores", undefined, /value 1 is NaN/);
  throwsMetric(() => averagePrecision([0, 1], [Infinity, 0]), "scores", undefined, /value 0 is Infinity/);
  throwsMetric(() => imageAuroc([0, 2], [0.1, 0.2]), "labels", undefined, /value 1 is 2; expected 0 or 1/);
});

test("image-level single class: AUROC raises like scikit-learn", () => {
  assert.throws(
    () => imageAuroc([1, 1], [0.1, 0.2]),
    (e: unknown) => e instanceof MetricUndefinedError && /Only one class/.test(e.message),
  );
});

test("pixel inputs: image count mismatch, size mismatch, NaN pixel, bad mask value, bad ScoreMap size, empty", () => {
  throwsMetric(() => pixelAuroc([mask, mask], [map]), "maps", undefined, /1 images but masks has 2/);
  throwsMetric(
    () =>
      pro(
        [mask, mask],
        [
          map,
          [
            [0.1, 0.2, 0.3],
            [0, 0, 0],
          ],
        ],
      ),
    "maps",
    1,
    /2 x 3 but its mask is 2 x 2/,
  );
  throwsMetric(
    () =>
      aupro(
        [mask],
        [
          [
            [0.1, 0.2],
            [NaN, 0],
          ],
        ],
      ),
    "maps",
    0,
    /row 1, col 0\) is NaN/,
  );
  throwsMetric(
    () =>
      f1Max(
        [
          [
            [0, 255],
            [0, 0],
          ],
        ],
        [map],
      ),
    "masks",
    0,
    /row 0, col 1\) is 255; expected 0 or 1/,
  );
  throwsMetric(
    () => pixelAuroc([{ data: new Uint8Array(4), height: 2, width: 2 }], [{ data: new Float32Array(5), height: 2, width: 2 }]),
    "maps",
    0,
    /5 values but height x width = 2 x 2 = 4/,
  );
  throwsMetric(() => pixelAuroc([[[0, 1], [0]]], [map]), "masks", 0, /row 1 has 1 values/);
  throwsMetric(() => pixelAuroc([], []), "masks", undefined, /no image/);
});

test("pixel degenerate cases: no defect, constant map, all pixels defective", () => {
  const none = [
    [0, 0],
    [0, 0],
  ];
  assert.throws(() => pixelAuroc([none], [map]), MetricUndefinedError);
  assert.throws(() => pro([none], [map]), /no defect region/);
  assert.throws(() => aupro([none], [map]), /no defect region/);
  assert.throws(() => f1Max([none], [map]), MetricUndefinedError);
  assert.throws(
    () =>
      pro(
        [mask],
        [
          [
            [0.5, 0.5],
            [0.5, 0.5],
          ],
        ],
      ),
    /constant/,
  );
  assert.throws(
    () =>
      aupro(
        [
          [
            [1, 1],
            [1, 1],
          ],
        ],
        [map],
      ),
    /no normal pixel/,
  );
  assert.equal(
    f1Max(
      [
        [
          [1, 1],
          [1, 1],
        ],
      ],
      [map],
    ),
    1,
  );
});

test("options are validated", () => {
  throwsMetric(() => pro([mask], [map], { steps: 0 }), "steps", undefined, /positive integer/);
  throwsMetric(() => aupro([mask], [map], { maxFpr: 1.5 }), "maxFpr", undefined, /\(0, 1\]/);
});
