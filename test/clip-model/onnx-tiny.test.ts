import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ClipModel } from "../../src/clip/model.js";
import { ShapeError, InvalidArgumentError } from "../../src/errors.js";
import { TINY_DIR, tinyReference, referencePixels, assertClose } from "./reference.js";

const ref = tinyReference();
const models = new Map<string, ClipModel>();
async function model(format: "huggingface" | "openai"): Promise<ClipModel> {
  let m = models.get(format);
  if (!m) {
    m = await ClipModel.load(TINY_DIR, { format });
    models.set(format, m);
  }
  return m;
}
after(async () => {
  for (const m of models.values()) await m.dispose();
});

const T = 65;
const W = 128;

for (const format of ["huggingface", "openai"] as const) {
  test(`${format} weights: hidden states 1-4, ln_post tokens, pooled and image embeddings match OpenAI's`, async () => {
    const m = await model(format);
    const n = ref.images.length;
    const raw = await m.encodeImages(referencePixels(), n, { layers: [1, 2, 3, 4] });
    const post = await m.encodeImages(referencePixels(), n, { layers: [4, 2], lnPost: true, batchSize: 2 });
    assert.equal(raw.numTokens, T);
    assert.equal(raw.width, W);
    assert.deepEqual([...post.hiddenStates.keys()], [2, 4]);
    ref.images.forEach((name, i) => {
      const r = ref.vision[name]!;
      const rows = (d: Float32Array) => d.subarray(i * T * W, (i + 1) * T * W);
      for (let l = 1; l <= 4; l++) assertClose(rows(raw.hiddenStates.get(l)!), r.hidden_states[l - 1]!.flat(), `${name} hidden ${l}`);
      for (const l of [2, 4]) assertClose(rows(post.hiddenStates.get(l)!), r.patch_tokens_ln_post[l - 1]!.flat(), `${name} ln_post ${l}`);
      // pooled = ln_post(class token of the last block) = row 0 of the last layer's ln_post tokens.
      assertClose(raw.pooled.subarray(i * W, (i + 1) * W), r.patch_tokens_ln_post[3]![0]!, `${name} pooled`);
      assertClose(raw.imageEmbeds.subarray(i * 32, (i + 1) * 32), r.image_embeds, `${name} image_embeds`);
      // Batching (2 + 2 + 1) gives the same pooled output as one batch of 5.
      assertClose(post.pooled.subarray(i * W, (i + 1) * W), raw.pooled.subarray(i * W, (i + 1) * W), `${name} batched`, 1e-6);
    });
  });

  test(`${format} weights: token ids, last_hidden_state, text embeddings and logits match OpenAI's`, async () => {
    const m = await model(format);
    const out = await m.encodeText(ref.prompts);
    const n = ref.prompts.length;
    assert.equal(out.n, n);
    ref.text.forEach((t, i) => {
      assert.deepEqual([...out.inputIds.subarray(i * 77, (i + 1) * 77)], t.input_ids, `ids of ${JSON.stringify(t.text)}`);
      assert.equal(out.eotIndex[i], t.eot_index);
      assertClose(out.lastHiddenState.subarray(i * 77 * 32, (i + 1) * 77 * 32), t.last_hidden_state.flat(), `last_hidden_state ${i}`);
      assertClose(out.textEmbeds.subarray(i * 32, (i + 1) * 32), t.text_embeds, `text_embeds ${i}`);
    });
    const img = await m.encodeImages(referencePixels(), ref.images.length, { layers: [] });
    const scale = Math.exp(m.weights.get("logit_scale")!.data[0]!);
    assert.ok(Math.abs(scale - ref.logit_scale_exp) < 1e-5);
    const unit = (d: Float32Array, i: number) => {
      const v = d.subarray(i * 32, (i + 1) * 32);
      const norm = Math.hypot(...v);
      return Array.from(v, (x) => x / norm);
    };
    ref.images.forEach((_, i) => {
      const a = unit(img.imageEmbeds, i);
      const logits = ref.prompts.map((__, j) => scale * unit(out.textEmbeds, j).reduce((s, x, k) => s + x * a[k]!, 0));
      assertClose(logits, ref.logits_per_image[i]!, `logits row ${i}`);
    });
  });
}

test("non-native size: positional embeddings interpolated like the peers (independent torch reference at 80 px)", async () => {
  const fx = JSON.parse(readFileSync(new URL("../fixtures/clip-model/tiny-at-80-torch.json", import.meta.url), "utf8"));
  const m = await model("huggingface");
  const S = 80;
  const pixels = Float32Array.from({ length: 2 * 3 * S * S }, (_, i) => 1.5 * Math.sin(0.37 * i));
  const out = await m.encodeImages(pixels, 2, { size: S, layers: [4] });
  assert.equal(out.numTokens, 101);
  assertClose(out.hiddenStates.get(4)!, fx.hidden_4, "hidden 4 at 80 px");
  assertClose(out.imageEmbeds, fx.image_embeds, "image embeds at 80 px");
});

test("bad requests are typed errors that say what was expected", async () => {
  const m = await model("huggingface");
  await assert.rejects(m.encodeImages(new Float32Array(3 * 64 * 64), 1, { layers: [0] }), ShapeError);
  await assert.rejects(m.encodeImages(new Float32Array(3 * 64 * 64), 1, { layers: [5] }), /1\.\.4/);
  await assert.rejects(m.encodeImages(new Float32Array(3 * 60 * 60), 1, { size: 60, layers: [1] }), InvalidArgumentError);
  await assert.rejects(m.encodeImages(new Float32Array(10), 1, { layers: [1] }), (e: unknown) => e instanceof ShapeError && /12288/.test(e.message));
  await assert.rejects(m.encodeImages(new Float32Array(3 * 64 * 64), 1, { layers: [1], batchSize: 0 }), InvalidArgumentError);
});
