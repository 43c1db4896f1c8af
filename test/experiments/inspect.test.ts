import { test } from "node:test";
import assert from "node:assert/strict";
import { ShapeError } from "../../src/errors.js";
import { backboneSummary, cosine, patchDistanceFromMean, statePromptSimilarity, upsampleNearest } from "../../src/experiments/inspect.js";
import { at } from "../at.js";
import { tinyModel } from "../models/baselines/tiny.js";

test("patchDistanceFromMean: 1 - cosine to the mean patch token, class token ignored", () => {
  // class [9, 9] is dropped; patches [1, 0] and [0, 1] have mean [0.5, 0.5]: cosine 1/sqrt(2) each.
  const d = patchDistanceFromMean(new Float32Array([9, 9, 1, 0, 0, 1]), 3, 2);
  assert.equal(d.length, 2);
  for (const v of d) assert.ok(Math.abs(v - (1 - Math.SQRT1_2)) < 1e-6);
  // Identical patches are at distance 0 however large the class token; an opposite one at 2.
  assert.deepEqual(Array.from(patchDistanceFromMean(new Float32Array([-5, 7, 2, 0, 3, 0]), 3, 2)), [0, 0]);
  const opposite = patchDistanceFromMean(new Float32Array([0, 0, 1, 0, 1, 0, -1, 0]), 4, 2);
  assert.ok(Math.abs(at(opposite, 2) - 2) < 1e-6);
  assert.throws(() => patchDistanceFromMean(new Float32Array(5), 3, 2), ShapeError);
});

test("upsampleNearest repeats each patch's score over its pixels", () => {
  assert.deepEqual(Array.from(upsampleNearest(new Float32Array([1, 2, 3, 4]), 2, 4)), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  // 3 patches over 4 pixels: pixel y covers patch floor(3y / 4) = 0, 0, 1, 2.
  const up = upsampleNearest(
    Float32Array.from({ length: 9 }, (_, i) => i),
    3,
    4,
  );
  assert.deepEqual(Array.from(up.subarray(0, 4)), [0, 0, 1, 2]);
  assert.deepEqual(Array.from(up.subarray(12, 16)), [6, 6, 7, 8]);
  assert.throws(() => upsampleNearest(new Float32Array(5), 2, 4), ShapeError);
});

test("backboneSummary: the architecture, and parameters per part adding up to every weight (clip-tiny)", async () => {
  const model = await tinyModel();
  const rows = backboneSummary(model);
  assert.deepEqual(rows.slice(1, 4), [
    { part: "vision", value: "4 blocks x width 128, 2 heads, 8 px patches at 64 px" },
    { part: "text", value: "2 blocks x width 32, context 77" },
    { part: "joint embedding", value: "32" },
  ]);
  const total = [...model.weights.values()].reduce((n, w) => n + w.data.length, 0);
  const parts = rows.filter((r) => r.part.startsWith("parameters: ")).map((r) => parseFloat(r.value));
  assert.equal(parts.length, 4);
  assert.ok(Math.abs(parts.reduce((a, b) => a + b, 0) - total / 1e6) <= 0.01, "the parts' rounded millions add up to the whole");
});

test("statePromptSimilarity: SimCLIP's two prompts per class, the cosine of their text embeddings", async () => {
  const model = await tinyModel();
  const rows = await statePromptSimilarity(model, ["bottle", "metal_nut"]);
  assert.deepEqual(
    rows.map((r) => r["normal prompt"]),
    ["a photo of a bottle without defect.", "a photo of a metal_nut without defect."],
  );
  const out = await model.encodeText(["a photo of a metal_nut without defect.", "a photo of a metal_nut with defect."]);
  const E = model.config.embedDim;
  const a = Array.from(out.textEmbeds.subarray(0, E));
  const b = Array.from(out.textEmbeds.subarray(E, 2 * E));
  const expected = a.reduce((s, v, i) => s + v * b[i]!, 0) / Math.hypot(...a) / Math.hypot(...b);
  assert.ok(Math.abs(rows[1]!["cos(normal, anomalous)"] - expected) < 1e-6);
  assert.equal(rows[1]!.tokens, out.eotIndex[0]! + 1);
});

test("cosine: 1 for parallel, 0 for orthogonal or zero vectors; lengths must agree", () => {
  assert.equal(cosine([1, 2], [2, 4]), 1);
  assert.equal(cosine([1, 0], [0, 3]), 0);
  assert.equal(cosine([0, 0], [1, 1]), 0);
  assert.throws(() => cosine([1], [1, 2]), ShapeError);
});
