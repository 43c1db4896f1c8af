import { test } from "node:test";
import assert from "node:assert/strict";
import { ShapeError } from "../../src/errors.js";
import { patchDistanceFromMean, upsampleNearest } from "../../src/notebook/inspect-layers.js";

test("patchDistanceFromMean: 1 - cosine to the mean patch token, class token ignored", () => {
  // class [9, 9] is dropped; patches [1, 0] and [0, 1] have mean [0.5, 0.5]: cosine 1/sqrt(2) each.
  const d = patchDistanceFromMean(new Float32Array([9, 9, 1, 0, 0, 1]), 3, 2);
  assert.equal(d.length, 2);
  for (const v of d) assert.ok(Math.abs(v - (1 - Math.SQRT1_2)) < 1e-6);
  // Identical patches are at distance 0 however large the class token; an opposite one at 2.
  assert.deepEqual(Array.from(patchDistanceFromMean(new Float32Array([-5, 7, 2, 0, 3, 0]), 3, 2)), [0, 0]);
  const opposite = patchDistanceFromMean(new Float32Array([0, 0, 1, 0, 1, 0, -1, 0]), 4, 2);
  assert.ok(Math.abs(opposite[2] - 2) < 1e-6);
  assert.throws(() => patchDistanceFromMean(new Float32Array(5), 3, 2), ShapeError);
});

test("upsampleNearest repeats each patch's score over its pixels", () => {
  assert.deepEqual(Array.from(upsampleNearest(new Float32Array([1, 2, 3, 4]), 2, 4)), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  // 3 patches over 4 pixels: pixel y covers patch floor(3y / 4) = 0, 0, 1, 2.
  const up = upsampleNearest(Float32Array.from({ length: 9 }, (_, i) => i), 3, 4);
  assert.deepEqual(Array.from(up.subarray(0, 4)), [0, 0, 1, 2]);
  assert.deepEqual(Array.from(up.subarray(12, 16)), [6, 6, 7, 8]);
  assert.throws(() => upsampleNearest(new Float32Array(5), 2, 4), ShapeError);
});
