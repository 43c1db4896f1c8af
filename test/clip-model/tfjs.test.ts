import { test, after } from "node:test";
import assert from "node:assert/strict";
import { tf, tfReady } from "../../src/tf.js";
import { loadClipDir } from "../../src/clip/weights.js";
import { ClipModel } from "../../src/clip/model.js";
import { buildVisionGraph } from "../../src/clip/onnx/clip-graphs.js";
import { createOrtSession, ort } from "../../src/clip/ort-executor.js";
import { disposeTfClip, eotIndices, textForwardTf, textTokenEmbedsTf, visionForwardTf } from "../../src/clip/tfjs-forward.js";
import { TINY_DIR, tinyReference, referencePixels, assertClose, maxAbsDiff } from "./reference.js";

const ref = tinyReference();
const loaded = loadClipDir(TINY_DIR);
after(async () => disposeTfClip((await loaded).weights));

test("tfjs text tower from token embeddings matches OpenAI's last_hidden_state and text embeddings", async () => {
  await tfReady();
  const { weights, config } = await loaded;
  const n = ref.text.length;
  const ids = Int32Array.from(ref.text.flatMap((t) => t.input_ids));
  const eot = eotIndices(ids, n, 77);
  assert.deepEqual(
    eot,
    ref.text.map((t) => t.eot_index),
  );
  const embeds = textTokenEmbedsTf(weights, config, ids, n);
  const out = textForwardTf(weights, config, embeds, eot);
  const last = out.lastHiddenState.dataSync();
  const proj = out.textEmbeds.dataSync();
  assertClose(
    last,
    ref.text.flatMap((t) => t.last_hidden_state.flat()),
    "tfjs last_hidden_state",
  );
  assertClose(
    proj,
    ref.text.flatMap((t) => t.text_embeds),
    "tfjs text_embeds",
  );
  tf.dispose([embeds, out.lastHiddenState, out.textEmbeds]);
});

test("gradients reach the input embeddings, and only up to each row's EOT (causal mask)", async () => {
  await tfReady();
  const { weights, config } = await loaded;
  const rows = [ref.text[0]!, ref.text[3]!];
  const ids = Int32Array.from(rows.flatMap((t) => t.input_ids));
  const eot = rows.map((t) => t.eot_index);
  const embeds = textTokenEmbedsTf(weights, config, ids, 2);
  const f = (x: tf.Tensor) => tf.sum(textForwardTf(weights, config, x, eot).textEmbeds);
  const g = tf.grad(f)(embeds);
  const norms = tf.norm(g, "euclidean", 2).arraySync() as number[][];
  rows.forEach((t, r) => {
    for (let j = 0; j < 77; j++) {
      if (j <= t.eot_index) assert.ok(norms[r]![j]! > 1e-6, `row ${r} position ${j} <= EOT gets a gradient`);
      else assert.equal(norms[r]![j], 0, `row ${r} position ${j} after EOT gets none`);
    }
  });
  // Central finite difference on one input coordinate (float32: loose relative tolerance).
  const h = 1e-2;
  const base = embeds.arraySync() as number[][][];
  const at = (d: number) => {
    const x = base.map((r) => r.map((c) => c.slice()));
    x[0]![1]![5]! += d;
    return tf.tidy(() => f(tf.tensor3d(x)).dataSync()[0]!);
  };
  const numeric = (at(h) - at(-h)) / (2 * h);
  const analytic = (g.arraySync() as number[][][])[0]![1]![5]!;
  assert.ok(Math.abs(numeric - analytic) <= 2e-2 * Math.max(1, Math.abs(analytic)), `d/dx: numeric ${numeric}, analytic ${analytic}`);
  tf.dispose([embeds, g]);
});

test("tfjs vision tower equals the onnxruntime one (native 64 px and interpolated 80 px)", async () => {
  await tfReady();
  const { weights, config } = await loaded;
  const cases: Array<[number, Float32Array, number]> = [
    [64, referencePixels().subarray(0, 2 * 3 * 64 * 64), 2],
    [80, Float32Array.from({ length: 3 * 80 * 80 }, (_, i) => Math.cos(0.11 * i)), 1],
  ];
  for (const [size, pixels, n] of cases) {
    const session = await createOrtSession(buildVisionGraph(weights, config, { size, layers: [1, 3], lnPost: true }));
    const o = await session.run({ pixel_values: new ort.Tensor("float32", pixels, [n, 3, size, size]) });
    const t = visionForwardTf(weights, config, tf.tensor4d(pixels, [n, 3, size, size]), { layers: [1, 3], lnPost: true });
    for (const l of [1, 3]) assertClose(t.hiddenStates.get(l)!.dataSync(), o[`hidden_${l}`]!.data as Float32Array, `${size}px layer ${l}`);
    assertClose(t.pooled.dataSync(), o.pooled!.data as Float32Array, `${size}px pooled`);
    assertClose(t.imageEmbeds.dataSync(), o.image_embeds!.data as Float32Array, `${size}px image embeds`);
    if (size === 64) {
      const want = ref.images.slice(0, 2).flatMap((name) => ref.vision[name]!.image_embeds);
      assert.ok(maxAbsDiff(t.imageEmbeds.dataSync(), want) <= 1e-4, "tfjs image embeds vs reference");
    }
    tf.dispose([...t.hiddenStates.values(), t.pooled, t.imageEmbeds]);
    await session.release();
  }
});

test("ClipModel.tokenEmbeddingsTf + textForwardTf: the facade's differentiable text path", async () => {
  await tfReady();
  const m = await ClipModel.load(TINY_DIR, { format: "openai" });
  const picks = [ref.text[2]!, ref.text[7]!];
  const { embeds, inputIds, eotIndex } = m.tokenEmbeddingsTf(picks.map((t) => t.text));
  assert.deepEqual(
    [...inputIds],
    picks.flatMap((t) => t.input_ids),
  );
  assert.deepEqual(
    eotIndex,
    picks.map((t) => t.eot_index),
  );
  const out = m.textForwardTf(embeds, eotIndex);
  assertClose(
    out.textEmbeds.dataSync(),
    picks.flatMap((t) => t.text_embeds),
    "facade tfjs text_embeds",
  );
  tf.dispose([embeds, out.lastHiddenState, out.textEmbeds]);
  await m.dispose();
});
