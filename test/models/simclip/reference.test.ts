/**
 * SimCLIP's objective, gradients and test-time outputs against the authors' formulation run in
 * PyTorch float64 (test/fixtures/models/make_simclip_reference.py): IPT, MHVA, 100 x cos maps,
 * align_corners bilinear upsampling, two-channel softmax, FocalLoss/BinaryDiceLoss, CE, weights
 * 1.3 / 0.08, scipy's gaussian_filter.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { tfReady } from "../../../src/tf.js";
import { computeGradients } from "../../../src/models/common/train-loop.js";
import { variableKey } from "../../../src/models/common/init.js";
import { ref, referenceFeatures, referenceItems, referenceModel } from "./reference-fixture.js";

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

test("loss and its parts match the PyTorch reference (tfjs route and onnxruntime route)", async () => {
  await tfReady();
  const m = await referenceModel();
  await m.prepare(ref.categories);
  const tfjs = computeGradients(m, referenceItems());
  for (const g of tfjs.grads.values()) g.dispose();
  assert.ok(Math.abs(tfjs.loss - ref.loss) <= 1e-4 * Math.abs(ref.loss), `tfjs loss ${tfjs.loss} vs ${ref.loss}`);
  const { loss, parts, grads } = await m.lossAndGradients(referenceItems());
  for (const g of grads.values()) g.dispose();
  assert.ok(Math.abs(loss - ref.loss) <= 1e-4 * Math.abs(ref.loss), `loss ${loss} vs ${ref.loss}`);
  for (const [k, v] of Object.entries(ref.parts)) {
    assert.ok(Math.abs(parts[k]! - v) <= 2e-4 * Math.max(1, Math.abs(v)), `${k}: ${parts[k]} vs ${v}`);
  }
  m.dispose();
});

for (const route of ["tfjs", "onnxruntime"] as const) {
  test(`gradients of every trainable tensor match PyTorch autograd (${route} route)`, async () => {
    await tfReady();
    const m = await referenceModel();
    await m.prepare(ref.categories);
    const { grads } = route === "tfjs" ? computeGradients(m, referenceItems()) : await m.lossAndGradients(referenceItems());
    const seen = new Set<string>();
    for (const [v, g] of grads) {
      const key = variableKey(v);
      seen.add(key);
      const want = ref.grads[key]!.data;
      const got = g.dataSync();
      const err = maxAbsDiff(got, want);
      assert.ok(err <= 1e-3 * Math.max(1e-3, maxAbs(want)), `${key}: max error ${err}, reference scale ${maxAbs(want)}`);
      g.dispose();
    }
    assert.deepEqual([...seen].sort(), Object.keys(ref.grads).sort());
    m.dispose();
  });
}

test("test-time maps (summed, smoothed) and image scores match the reference", async () => {
  await tfReady();
  const m = await referenceModel();
  const out = await m.score({ features: referenceFeatures(), categories: ref.imageCategory.map((c) => ref.categories[c]!) });
  const S2 = ref.dims.S * ref.dims.S;
  assert.equal(out.size, ref.dims.S);
  out.maps.forEach((map, i) => {
    assert.equal(map.length, S2);
    const err = maxAbsDiff(map, ref.maps.data.slice(i * S2, (i + 1) * S2));
    assert.ok(err < 1e-4, `map ${i}: max error ${err}`);
  });
  assert.ok(maxAbsDiff(out.scores, ref.scores) < 1e-5, `scores ${[...out.scores]} vs ${ref.scores}`);
  m.dispose();
});
