import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tf, tfReady } from "../../../src/tf.js";
import { bilinearMatrix, upsampleBilinear, upsampleBilinearArray } from "../../../src/models/common/upsample.js";
import { gaussianFilter } from "../../../src/models/common/gaussian.js";
import { InvalidArgumentError } from "../../../src/errors.js";

const ref = JSON.parse(readFileSync(fileURLToPath(new URL("../../fixtures/models/resample_reference.json", import.meta.url)), "utf8"));

function maxErr(a: ArrayLike<number>, b: number[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test("upsampleBilinear matches torch F.interpolate (align_corners True and False)", async () => {
  await tfReady();
  const x = tf.tensor3d(ref.input, [2, 5, 5]);
  assert.ok(maxErr(upsampleBilinear(x, 13, true).dataSync(), ref.alignTrue) < 1e-5);
  assert.ok(maxErr(upsampleBilinear(x, 13, false).dataSync(), ref.alignFalse) < 1e-5);
  const first = Float32Array.from(ref.input.slice(0, 25));
  assert.ok(maxErr(upsampleBilinearArray(first, 5, 13, true), ref.alignTrue.slice(0, 169)) < 1e-5);
});

test("bilinear matrix rows sum to 1 and hit the corners exactly with align_corners", () => {
  const u = bilinearMatrix(9, 4, true);
  for (let i = 0; i < 9; i++) {
    let s = 0;
    for (let j = 0; j < 4; j++) s += u[i * 4 + j]!;
    assert.ok(Math.abs(s - 1) < 1e-6);
  }
  assert.equal(u[0], 1);
  assert.equal(u[8 * 4 + 3], 1);
  assert.throws(() => bilinearMatrix(0, 4, true), InvalidArgumentError);
});

test("gaussianFilter matches scipy.ndimage.gaussian_filter (sigma 2, and sigma 7 wider than the map)", () => {
  const g = ref.gauss;
  const input = Float32Array.from(g.input);
  assert.ok(maxErr(gaussianFilter(input, g.h, g.w, 2), g.sigma2) < 2e-6);
  assert.ok(maxErr(gaussianFilter(input, g.h, g.w, 7), g.sigma7) < 2e-6);
  assert.throws(() => gaussianFilter(input, g.h + 1, g.w, 2), InvalidArgumentError);
});

test("upsampleBilinear's hand-written gradient equals U^T G U computed with explicit matrices", async () => {
  await tfReady();
  const g = 3,
    S = 7,
    n = 2;
  const x = tf.randomNormal([n, g, g], 0, 1, "float32", 1) as tf.Tensor3D;
  const weights = tf.randomNormal([n, S, S], 0, 1, "float32", 2);
  const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(upsampleBilinear(t as tf.Tensor3D, S, true), weights)))(x);
  const u = bilinearMatrix(S, g, true);
  const w = weights.arraySync() as number[][][];
  const got = grad.arraySync() as number[][][];
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < g; i++) {
      for (let j = 0; j < g; j++) {
        let want = 0;
        for (let Y = 0; Y < S; Y++) for (let X = 0; X < S; X++) want += u[Y * g + i]! * w[b]![Y]![X]! * u[X * g + j]!;
        assert.ok(Math.abs(got[b]![i]![j]! - want) < 1e-4, `[${b}, ${i}, ${j}]: ${got[b]![i]![j]} vs ${want}`);
      }
    }
  }
});
