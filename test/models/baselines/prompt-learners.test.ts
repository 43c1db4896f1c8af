import { test } from "node:test";
import assert from "node:assert/strict";
import { tf, tfReady } from "../../../src/tf.js";
import { PromptLearnerClip } from "../../../src/models/coop/model.js";
import { computeGradients } from "../../../src/models/common/train-loop.js";
import { variableKey } from "../../../src/models/common/init.js";
import type { TrainItem } from "../../../src/models/common/types.js";
import { cosine, referenceFeatures, tinyModel, tinyReference } from "./tiny.js";

const S = 64,
  LAYERS = [2, 4];
/** AnomalyCLIP's released settings scaled to the tiny CLIP (4 vision blocks, 2 text blocks): DPAM_layer 4, depth 2. */
const TINY_AC = { dpamLayer: 4, deepTextPrompts: { depth: 1, length: 4 } };

function items(): TrainItem[] {
  return [0, 1, 2, 3].map((i) => {
    const mask = new Uint8Array(S * S);
    if (i % 2) for (let y = 8; y < 40; y++) for (let x = 16; x < 48; x++) mask[y * S + x] = 1;
    return { features: referenceFeatures(i), category: i < 2 ? "bottle" : "metal_nut", label: (i % 2) as 0 | 1, mask };
  });
}

test("learnable-context shapes and trainable sets of CoOp, CoCoOp and AnomalyCLIP", async () => {
  await tfReady();
  const clip = await tinyModel();
  const shapes = (m: PromptLearnerClip) => Object.fromEntries(m.trainableVariables().map((v) => [variableKey(v), v.shape]));
  const coop = await PromptLearnerClip.create(clip, "coop", { size: S, layers: LAYERS });
  assert.deepEqual(shapes(coop), {
    prompt_context: [1, 16, 32],
    "mhva.2.weight": [128, 32],
    "mhva.2.bias": [32],
    "mhva.4.weight": [128, 32],
    "mhva.4.bias": [32],
    visual_projection: [128, 32],
    text_projection: [32, 32],
  });
  const cocoop = await PromptLearnerClip.create(clip, "cocoop", { size: S, layers: LAYERS });
  const cs = shapes(cocoop);
  assert.deepEqual(cs.prompt_context, [1, 4, 32]);
  // Meta-net: Linear(E = 32 -> 32 / 16 = 2), ReLU, Linear(2 -> Wt = 32).
  assert.deepEqual(
    [cs["meta_net.linear1.weight"], cs["meta_net.linear2.weight"]],
    [
      [32, 2],
      [2, 32],
    ],
  );
  const ac = await PromptLearnerClip.create(clip, "anomalyclip", { size: S, layers: LAYERS, ...TINY_AC });
  assert.deepEqual(shapes(ac), { prompt_context: [2, 12, 32], deep_text_prompts: [1, 4, 32] });
  for (const m of [coop, cocoop, ac]) m.dispose();
});

test("context spliced at the text tower's input: context = the embeddings of 'a photo of a' reproduces OpenAI CLIP's text features", async () => {
  await tfReady();
  const clip = await tinyModel();
  const ref = tinyReference();
  const m = await PromptLearnerClip.create(clip, "coop", { size: S, layers: LAYERS, contextLength: 4 });
  // Reference prompt 0 is "a photo of a bottle without defect.": ids 1..4 are "a photo of a".
  const table = clip.weights.get("token_embedding.weight")!;
  const W = table.shape[1]!;
  const ctx = new Float32Array(4 * W);
  ref.text[0]!.input_ids.slice(1, 5).forEach((id, j) => {
    ctx.set(table.data.subarray(id * W, (id + 1) * W), j * W);
  });
  m.context.vectors.assign(tf.tensor3d(ctx, [1, 4, W]));
  await m.prepare(["bottle"]);
  const pairs = m.promptPairs(["bottle"]);
  const got = pairs.dataSync();
  for (const s of [0, 1]) {
    const e = ref.text[s]!.text_embeds;
    const row = got.subarray(s * 32, (s + 1) * 32);
    assert.ok(Math.abs(cosine(row, e) - 1) < 1e-5, `state ${s}: cosine ${cosine(row, e)}`);
    const norm = Math.hypot(...e);
    e.forEach((v, k) => {
      assert.ok(Math.abs(row[k]! - v / norm) < 1e-4, `state ${s} component ${k}`);
    });
  }
  pairs.dispose();
  m.dispose();
});

test("CoCoOp starts from the embeddings of 'a photo of a' (its released ctx_init), tokenised as OpenAI's tokenizer does", async () => {
  await tfReady();
  const clip = await tinyModel();
  const ref = tinyReference();
  const m = await PromptLearnerClip.create(clip, "cocoop", { size: S, layers: LAYERS });
  assert.equal(m.config.contextInit, "a photo of a");
  const table = clip.weights.get("token_embedding.weight")!;
  const W = table.shape[1]!;
  const got = m.context.vectors.dataSync();
  // OpenAI's ids for reference prompt 0, "a photo of a bottle without defect.", positions 1..4.
  ref.text[0]!.input_ids.slice(1, 5).forEach((id, j) => {
    assert.deepEqual(got.subarray(j * W, (j + 1) * W), table.data.subarray(id * W, (id + 1) * W), `context token ${j}`);
  });
  m.dispose();
  await assert.rejects(
    PromptLearnerClip.create(clip, "cocoop", { size: S, layers: LAYERS, contextInit: "a photo of" }),
    /context init "a photo of" is 3 tokens; the context has 4 \(set contextLength to 3\)/,
  );
  await assert.rejects(PromptLearnerClip.create(clip, "anomalyclip", { size: S, layers: LAYERS, contextInit: "a photo of a" }), /one context per state/);
});

for (const variant of ["coop", "cocoop", "anomalyclip"] as const) {
  test(`${variant}: gradients reach the context vectors through the text tower; the one-VJP, onnxruntime-adapter training route equals plain autodiff and finite differences`, async () => {
    await tfReady();
    const clip = await tinyModel();
    const m = await PromptLearnerClip.create(clip, variant, { size: S, layers: LAYERS, logitScale: 5, ...(variant === "anomalyclip" ? TINY_AC : {}) }, 7);
    const batch = items();
    await m.prepare(batch.map((b) => b.category));
    const fast = await m.lossAndGradients(batch);
    const plain = computeGradients(m, batch);
    assert.ok(Math.abs(fast.loss - plain.loss) < 1e-4 * Math.abs(plain.loss));
    for (const v of m.trainableVariables()) {
      const a = fast.grads.get(v)!,
        b = plain.grads.get(v)!;
      assert.ok(a && b, `${variableKey(v)} has a gradient`);
      const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!,
        scale = tf.max(tf.abs(b)).dataSync()[0]!;
      assert.ok(diff <= 1e-3 * scale + 1e-7, `${variableKey(v)}: routes differ by ${diff} (scale ${scale})`);
      // (The meta-net's first layer may get an all-zero gradient when its two ReLU units are inactive.)
      if (["prompt_context", "meta_net.linear2.bias", "text_projection", "mhva.2.weight", "visual_projection"].includes(variableKey(v)))
        assert.ok(scale > 0, `${variableKey(v)}: zero gradient`);
    }
    const ctx = m.context.vectors;
    const g = fast.grads.get(ctx)!;
    const dir = tf.randomNormal(ctx.shape, 0, 1, "float32", 3);
    const unit = tf.div(dir, tf.norm(dir));
    const analytic = tf.sum(tf.mul(g, unit)).dataSync()[0]!;
    const total = () =>
      m.objective(batch).reduce((sum, term) => {
        const loss = tf.tidy(() => term().loss);
        const v = loss.dataSync()[0]!;
        loss.dispose();
        return sum + v;
      }, 0);
    const orig = ctx.clone();
    const h = 1e-2;
    ctx.assign(tf.add(orig, tf.mul(unit, h)));
    const plus = total();
    ctx.assign(tf.sub(orig, tf.mul(unit, h)));
    const minus = total();
    ctx.assign(orig);
    const numeric = (plus - minus) / (2 * h);
    assert.ok(Math.abs(numeric - analytic) <= 0.03 * Math.abs(analytic) + 1e-4, `finite difference ${numeric} vs gradient ${analytic}`);
    for (const r of [fast, plain]) for (const t of r.grads.values()) t.dispose();
    tf.dispose([dir, unit, orig]);
    m.dispose();
  });
}

test("AnomalyCLIP: only the prompts train, the loss falls, and scoring gives S x S maps and probabilities", async () => {
  await tfReady();
  const clip = await tinyModel();
  const m = await PromptLearnerClip.create(clip, "anomalyclip", { size: S, layers: LAYERS, ...TINY_AC });
  const list = items();
  const h = await m.fit({ length: list.length, categories: ["bottle", "metal_nut"], get: async (i) => list[i]! }, { epochs: 4, batchSize: 4 });
  assert.ok(h.epochLoss[3]! < h.epochLoss[0]!, `epoch losses ${h.epochLoss}`);
  const out = await m.score({ features: [referenceFeatures(4)], categories: ["screw"] });
  assert.equal(out.maps[0]!.length, S * S);
  assert.ok(out.scores[0]! > 0 && out.scores[0]! < 1);
  m.dispose();
});

test("AnomalyCLIP with deep text prompts: the onnxruntime route's gradients of the input context and the deep tokens equal the tfjs route's and finite differences", async () => {
  await tfReady();
  const clip = await tinyModel();
  // Without the float16 rounding of the released code, so that both routes and finite differences agree to float32.
  const plainAc = await PromptLearnerClip.create(
    clip,
    "anomalyclip",
    { size: S, layers: LAYERS, dpamLayer: 4, deepTextPrompts: undefined, deepPromptsHalf: false },
    7,
  );
  const m = await PromptLearnerClip.create(
    clip,
    "anomalyclip",
    { size: S, layers: LAYERS, dpamLayer: 4, deepTextPrompts: { depth: 1, length: 3 }, deepPromptsHalf: false },
    7,
  );
  // The deep tokens are drawn after everything else: the input context starts where the preset's does.
  assert.deepEqual(m.context.vectors.dataSync(), plainAc.context.vectors.dataSync());
  assert.deepEqual(m.deepPrompts!.shape, [1, 3, 32]);
  plainAc.dispose();
  const batch = items();
  await m.prepare(batch.map((b) => b.category));
  const fast = await m.lossAndGradients(batch);
  const plain = computeGradients(m, batch);
  assert.ok(Math.abs(fast.loss - plain.loss) < 1e-5 * Math.abs(plain.loss));
  for (const v of [m.context.vectors, m.deepPrompts!]) {
    const a = fast.grads.get(v)!,
      b = plain.grads.get(v)!;
    const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!,
      scale = tf.max(tf.abs(b)).dataSync()[0]!;
    assert.ok(scale > 0 && diff <= 1e-4 * scale, `${variableKey(v)}: routes differ by ${diff} (scale ${scale})`);
  }
  const v = m.deepPrompts!;
  const unit = tf.tidy(() => {
    const d = tf.randomNormal(v.shape, 0, 1, "float32", 4);
    return tf.div(d, tf.norm(d));
  });
  const analytic = tf.sum(tf.mul(fast.grads.get(v)!, unit)).dataSync()[0]!;
  const total = () => m.objective(batch).reduce((sum, term) => sum + tf.tidy(() => term().loss.dataSync()[0]!), 0);
  const orig = v.clone();
  const h = 1e-2;
  v.assign(tf.add(orig, tf.mul(unit, h)));
  const plus = total();
  v.assign(tf.sub(orig, tf.mul(unit, h)));
  const minus = total();
  v.assign(orig);
  const numeric = (plus - minus) / (2 * h);
  assert.ok(Math.abs(numeric - analytic) <= 0.03 * Math.abs(analytic) + 1e-4, `finite difference ${numeric} vs gradient ${analytic}`);
  const out = await m.score({ features: [referenceFeatures(4)], categories: ["screw"] });
  assert.ok(out.scores[0]! > 0 && out.scores[0]! < 1);
  for (const r of [fast, plain]) for (const t of r.grads.values()) t.dispose();
  tf.dispose([unit, orig]);
  m.dispose();
});
