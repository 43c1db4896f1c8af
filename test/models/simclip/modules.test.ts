import { test } from "node:test";
import assert from "node:assert/strict";
import { tf, tfReady } from "../../../src/tf.js";
import { SimClip } from "../../../src/models/simclip/model.js";
import { ImplicitPromptTuning } from "../../../src/models/simclip/ipt.js";
import { MultiHierarchyVisionAdapter } from "../../../src/models/components/mhva.js";
import { createRng, variableKey } from "../../../src/models/common/init.js";
import { InvalidArgumentError } from "../../../src/errors.js";
import { TINY, fakeBackbone, fakeFeatures } from "../common/fake-backbone.js";

test("MHVA: one [W, E] linear per layer; output [N, E] equals x W + b; gradient path matches forward", async () => {
  await tfReady();
  const a = new MultiHierarchyVisionAdapter([3, 5], 6, 4, createRng("t", 1));
  assert.deepEqual(
    a.variables().map((v) => [variableKey(v), v.shape]),
    [
      ["mhva.3.weight", [6, 4]],
      ["mhva.3.bias", [4]],
      ["mhva.5.weight", [6, 4]],
      ["mhva.5.bias", [4]],
    ],
  );
  const x = tf.randomNormal([10, 6], 0, 1, "float32", 7) as tf.Tensor2D;
  const y = a.forward(3, x);
  assert.deepEqual(y.shape, [10, 4]);
  // Hand check of one entry: y[2][1] = sum_k x[2][k] W[k][1] + b[1].
  const xd = x.arraySync(),
    w = a.weights.get(3)!.arraySync() as number[][],
    b = a.biases.get(3)!.arraySync() as number[];
  const want = xd[2]!.reduce((s, v, k) => s + v * w[k]![1]!, b[1]!);
  assert.ok(Math.abs((y.arraySync() as number[][])[2]![1]! - want) < 1e-5);
  const viaGrad = a.apply(3, x, tf.transpose(x));
  assert.ok(tf.max(tf.abs(tf.sub(viaGrad, y))).dataSync()[0]! < 1e-6);
  a.dispose();
});

test("IPT: refined prompts [n, Wt] = x_eot + c0 (x^T w + b_w) + c1 MLP(P_s) + c_b; released init U[0, 1], unclamped; the paper's clamp as a switch", async () => {
  await tfReady();
  const L = 5,
    Wt = 3;
  const ipt = new ImplicitPromptTuning(L, Wt, 8, 6, createRng("ipt", 2));
  // The released ConstrainLinear: weight AND bias uniform in [0, 1], so IPT acts from step 0.
  for (const v of [ipt.tokenWeight, ipt.tokenBias, ipt.mixWeight, ipt.mixBias]) {
    const d = v.dataSync();
    assert.ok(
      d.every((x) => x >= 0 && x <= 1),
      `${v.name} initialised inside [0, 1]`,
    );
    assert.ok(
      d.some((x) => x > 0),
      `${v.name} not all zero`,
    );
  }
  // One prompt: x [L, Wt]; xT [Wt, L].
  const x = Array.from({ length: L }, (_, t) => Array.from({ length: Wt }, (_, j) => Math.sin(1 + t * 3 + j)));
  const xT = tf.tensor2d(Array.from({ length: Wt }, (_, j) => x.map((row) => row[j]!)));
  const eot = 2;
  const out = ipt.refine(xT, tf.tensor2d([x[eot]!])).arraySync()[0]!;
  const w = ipt.tokenWeight.dataSync(),
    bw = ipt.tokenBias.dataSync()[0]!,
    c = ipt.mixWeight.dataSync(),
    cb = ipt.mixBias.dataSync()[0]!;
  const p = ipt.promptEmbedding().dataSync();
  for (let j = 0; j < Wt; j++) {
    const ori = x.reduce((s, row, t) => s + row[j]! * w[t]!, 0) + bw;
    const want = x[eot]![j]! + c[0]! * ori + c[1]! * p[j]! + cb;
    assert.ok(Math.abs(out[j]! - want) < 1e-5, `component ${j}: ${out[j]} vs ${want}`);
  }
  const paper = ipt.refine(xT, tf.tensor2d([x[eot]!]), false).arraySync()[0]!;
  for (let j = 0; j < Wt; j++) assert.ok(Math.abs(paper[j]! - (out[j]! - x[eot]![j]!)) < 1e-5, "Eq. 5 without the EOT residual");
  // Released: nothing constrains the parameters after a step.
  ipt.tokenWeight.assign(tf.fill([L, 1], 3));
  ipt.mixWeight.assign(tf.tensor1d([-2, 0.25]));
  ipt.project();
  assert.ok(ipt.tokenWeight.dataSync().every((v) => v === 3));
  assert.deepEqual([...ipt.mixWeight.dataSync()], [-2, 0.25]);
  ipt.dispose();
  // Paper's wording (`iptClamp`): W and c projected back into [0, 1].
  const clamped = new ImplicitPromptTuning(L, Wt, 8, 6, createRng("ipt", 2), true);
  clamped.tokenWeight.assign(tf.fill([L, 1], 3));
  clamped.mixWeight.assign(tf.tensor1d([-2, 0.25]));
  clamped.project();
  assert.ok(clamped.tokenWeight.dataSync().every((v) => v === 1));
  assert.deepEqual([...clamped.mixWeight.dataSync()], [0, 0.25]);
  clamped.dispose();
});

test("SimCLIP shapes: prompt embeddings [u, 2, E] unit-norm, maps [S*S] in [0, |L|], scores in [0, 1]", async () => {
  await tfReady();
  const bb = fakeBackbone();
  const m = await SimClip.create(bb, { layers: [1, 3], size: 16, sigma: 0 });
  await m.prepare(["metal_nut", "pcb"]);
  // Raw folder names, as the released code writes its prompts.
  assert.deepEqual(bb.calls[0], [
    "a photo of a metal_nut without defect.",
    "a photo of a metal_nut with defect.",
    "a photo of a pcb without defect.",
    "a photo of a pcb with defect.",
  ]);
  const spaced = await SimClip.create(bb, { layers: [1, 3], size: 16, classNames: "spaces" });
  await spaced.prepare(["metal_nut"]);
  assert.deepEqual(bb.calls.at(-1), ["a photo of a metal nut without defect.", "a photo of a metal nut with defect."]);
  spaced.dispose();
  const { plain, refined } = m.promptEmbeddings(["metal_nut", "pcb"]);
  assert.deepEqual(refined.shape, [2, 2, TINY.embedDim]);
  for (const t of [plain, refined]) {
    const norms = tf.norm(t, "euclidean", -1).dataSync();
    assert.ok(norms.every((v) => Math.abs(v - 1) < 1e-5));
  }
  const out = await m.score({ features: [fakeFeatures("a", 4, [1, 3]), fakeFeatures("b", 4, [1, 3])], categories: ["pcb", "metal_nut"] });
  assert.equal(out.maps.length, 2);
  assert.equal(out.maps[0]!.length, 256);
  assert.ok(out.maps.every((mp) => mp.every((v) => v >= 0 && v <= 2)));
  assert.ok(out.scores.every((v) => v >= 0 && v <= 1));
  m.dispose();
});

test("ablations: MHVA off uses CLIP's fixed ln_post + proj (no adapter parameters); IPT off gives refined = plain", async () => {
  await tfReady();
  const bb = fakeBackbone();
  const noMhva = await SimClip.create(bb, { layers: [2], size: 16, mhva: false });
  assert.deepEqual(
    noMhva
      .trainableVariables()
      .map(variableKey)
      .filter((k) => k.startsWith("mhva")),
    [],
  );
  // Fixed projection = LayerNorm(x) * w + b then @ visual.proj, checked on one token by hand.
  const x = Array.from({ length: TINY.width }, (_, i) => Math.cos(i * 1.7));
  const mean = x.reduce((a, b) => a + b) / x.length;
  const varc = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
  const lnw = bb.weights.get("visual.ln_post.weight")!.data,
    lnb = bb.weights.get("visual.ln_post.bias")!.data;
  const proj = bb.weights.get("visual.proj")!.data;
  const ln = x.map((v, i) => ((v - mean) / Math.sqrt(varc + 1e-5)) * lnw[i]! + lnb[i]!);
  const want = Array.from({ length: TINY.embedDim }, (_, e) => ln.reduce((s, v, i) => s + v * proj[i * TINY.embedDim + e]!, 0));
  const got = noMhva.projectPatches(2, tf.tensor2d([x])).dataSync();
  want.forEach((w, e) => {
    assert.ok(Math.abs(got[e]! - w) < 1e-4, `dim ${e}: ${got[e]} vs ${w}`);
  });
  noMhva.dispose();

  const noIpt = await SimClip.create(bb, { layers: [2], size: 16, ipt: false });
  assert.deepEqual(
    noIpt
      .trainableVariables()
      .map(variableKey)
      .filter((k) => k.startsWith("ipt")),
    [],
  );
  await noIpt.prepare(["pcb"]);
  const { plain, refined } = noIpt.promptEmbeddings(["pcb"]);
  assert.deepEqual([...plain.dataSync()], [...refined.dataSync()]);
  noIpt.dispose();
});

test("a layer subset only reads those layers; a layer the backbone lacks is an InvalidArgumentError", async () => {
  await tfReady();
  const bb = fakeBackbone();
  const m = await SimClip.create(bb, { layers: [4], size: 16 });
  const f = fakeFeatures("only4", 4, [4]);
  const out = await m.score({ features: [f], categories: ["pcb"] });
  assert.equal(out.maps[0]!.length, 256);
  m.dispose();
  await assert.rejects(SimClip.create(bb, { layers: [5] }), InvalidArgumentError);
  await assert.rejects(SimClip.create(bb, { size: 15 }), InvalidArgumentError);
});
