/**
 * CoOp and CoCoOp against the authors' released code itself: `test/fixtures/released-coop` holds what the
 * released `trainers/coop.py` / `trainers/cocoop.py` (PromptLearner, TextEncoder, CustomCLIP on their copy
 * of OpenAI's CLIP) compute on the tiny CLIP with the SimCLIP framework's prompts as class names
 * ("<ctx> bottle without defect."), README there. Pinned: the tokenised prompts, the prompt embeddings
 * after splicing, the text features, CoCoOp's context init, meta-net and per-image shifted prompts, and
 * the gradients of scalars of the text features through our onnxruntime VJP. Also the ImageNet templates
 * of `trainers/imagenet_templates.py` against CLIP-AC's.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ClipModel } from "../../../src/clip/model.js";
import { readSafetensors } from "../../../src/clip/safetensors.js";
import type { WeightTensor } from "../../../src/clip/weights.js";
import { tf, tfReady } from "../../../src/tf.js";
import { PromptLearnerClip } from "../../../src/models/coop/model.js";
import { promptLearnerPreset } from "../../../src/models/coop/config.js";
import { placeholderPrefix, templatePair, wordContext, type PromptTemplatePair } from "../../../src/models/coop/context.js";
import { promptClassName } from "../../../src/models/common/prompts.js";
import { IMAGENET_TEMPLATES } from "../../../src/models/clip-ac/prompts.js";
import type { ImageFeatures } from "../../../src/models/common/types.js";
import { maxAbsDiff } from "../../clip-model/reference.js";

const FIX = path.join(import.meta.dirname, "../../fixtures/released-coop");
const TINY = path.join(import.meta.dirname, "../../fixtures/clip-tiny");
const S = 64;
const LAYERS = [2, 4];

interface ReleasedDoc {
  cfg: Record<string, string | number | boolean | number[]>;
  categories: string[];
  states: string[];
  classnames: string[];
  n_ctx: number;
  prompt_texts: string[];
  tokenized_prompts: number[][];
  eot_index: number[];
}
interface CoCoOpDoc extends ReleasedDoc {
  ctx_init: string;
  ctx_init_tokens: number[];
  meta_net_shapes: Record<string, number[]>;
  vis_dim: number;
  ctx_dim: number;
  image_category: string[];
}

let clip: ClipModel;
let coop: ReleasedDoc;
let cocoop: CoCoOpDoc;
let coopT: Map<string, WeightTensor>;
let cocoopT: Map<string, WeightTensor>;

const readJson = async <T>(name: string) => JSON.parse(await readFile(path.join(FIX, name), "utf8")) as T;

before(async () => {
  await tfReady();
  // The released CoOp code runs OpenAI's CLIP, QuickGELU in both towers.
  clip = await ClipModel.load(TINY, { activation: "quick-gelu", threads: 1 });
  coop = await readJson<ReleasedDoc>("coop.json");
  cocoop = await readJson<CoCoOpDoc>("cocoop.json");
  coopT = await readSafetensors(path.join(FIX, "coop.safetensors"));
  cocoopT = await readSafetensors(path.join(FIX, "cocoop.safetensors"));
});
after(async () => {
  await clip.dispose();
});

function fixture(t: Map<string, WeightTensor>, name: string): WeightTensor {
  const w = t.get(name);
  assert.ok(w, `fixture tensor ${name} is missing`);
  return w;
}

/**
 * max |actual - expected| <= tol * max(1, max |expected|): an absolute bound for values of order one, a
 * relative one for the larger gradients (the tiny text tower's layer norms see inputs of size ~0.1).
 */
function assertNear(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-4): void {
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol * scale, `${what}: max |diff| ${d} > ${tol} x ${scale}`);
}

/** Rows [n, cols] scaled to unit length. */
function normalisedRows(x: ArrayLike<number>, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += x[r * cols + j]! ** 2;
    const n = Math.sqrt(s);
    for (let j = 0; j < cols; j++) out[r * cols + j] = x[r * cols + j]! / n;
  }
  return out;
}

/** The [rows, cols] matrix transposed (PyTorch's Linear weights are [out, in], ours [in, out]). */
function transposed(w: WeightTensor): Float32Array {
  const [rows, cols] = w.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w.data[r * cols + c]!;
  return out;
}

/** Consecutive blocks `[k * size, (k + 1) * size)` of `x`, picked in the order of `blocks`. */
function blocks(x: Float32Array, size: number, picked: number[]): Float32Array {
  const out = new Float32Array(picked.length * size);
  for (const [i, b] of picked.entries()) out.set(x.subarray(b * size, (b + 1) * size), i * size);
  return out;
}

/** Our prompt pair of a category, as `PromptLearnerClip.prepare` writes it (SimCLIP's "without defect." / "with defect."). */
function ourTexts(category: string, m: number): [string, string] {
  const x = placeholderPrefix(m);
  return [`${x} ${promptClassName(category)} without defect.`, `${x} ${promptClassName(category)} with defect.`];
}

function tokenRows(ids: Int32Array, n: number): number[][] {
  const L = clip.config.text.contextLength;
  return Array.from({ length: n }, (_, r) => {
    const row = Array.from(ids.subarray(r * L, (r + 1) * L));
    assert.ok(
      row.slice(row.indexOf(49407) + 1).every((v) => v === 0),
      `row ${r}: zero padding after the EOT`,
    );
    return row.slice(0, row.indexOf(49407) + 1);
  });
}

function templates(categories: string[], m: number): PromptTemplatePair[] {
  return categories.map((c) => templatePair(clip.weights, clip.config, clip.tokenizer, ourTexts(c, m), m));
}

test("the released class names are the SimCLIP framework's prompts: '<ctx> <class> without defect.' / '... with defect.'", () => {
  for (const doc of [coop, cocoop]) {
    assert.deepEqual(
      doc.classnames,
      doc.categories.flatMap((c) => doc.states.map((s) => `${c} ${s}`)),
    );
    const ours = doc.categories.flatMap((c) => ourTexts(c, doc.n_ctx));
    const prefix = "ctx_init" in doc ? `${(doc as CoCoOpDoc).ctx_init} ` : `${placeholderPrefix(doc.n_ctx)} `;
    assert.deepEqual(
      ours.map((t) => prefix + t.slice(placeholderPrefix(doc.n_ctx).length + 1)),
      doc.prompt_texts,
    );
  }
});

test("CoOp: the preset is the released configuration (16 generic context tokens, random init) and the tokenised prompts are the released ones", () => {
  const preset = promptLearnerPreset("coop", clip.config);
  assert.equal(preset.contextLength, coop.n_ctx);
  assert.equal(coop.cfg["TRAINER.COOP.N_CTX"], 16);
  assert.equal(coop.cfg["TRAINER.COOP.CTX_INIT"], "");
  assert.equal(preset.contextInit, undefined);
  assert.equal(coop.cfg["TRAINER.COOP.CSC"], false);
  assert.equal(preset.sharedContext, true);
  assert.equal(coop.cfg["TRAINER.COOP.CLASS_TOKEN_POSITION"], "end");
  assert.equal(preset.contextStd, 0.02);
  const texts = coop.categories.flatMap((c) => ourTexts(c, coop.n_ctx));
  assert.deepEqual(tokenRows(clip.tokenizer.tokenize(texts, clip.config.text.contextLength), texts.length), coop.tokenized_prompts);
});

test("CoOp: the released prompt embeddings after splicing (prefix, ctx, suffix) are ours, bit for bit", async () => {
  const m = await PromptLearnerClip.create(clip, "coop", { size: S, layers: LAYERS });
  try {
    const ctx = fixture(coopT, "ctx");
    m.context.vectors.assign(tf.tensor3d(ctx.data, [1, ...(ctx.shape as [number, number])]));
    const prompts = fixture(coopT, "prompts");
    const per = prompts.shape[1]! * prompts.shape[2]!;
    for (const [c, t] of templates(coop.categories, coop.n_ctx).entries()) {
      assert.deepEqual(t.eotIndex, coop.eot_index.slice(2 * c, 2 * c + 2));
      const spliced = tf.tidy(() => m.context.splice(t, m.context.pair()));
      assert.equal(maxAbsDiff(spliced.dataSync(), prompts.data.subarray(2 * c * per, (2 * c + 2) * per)), 0, coop.categories[c]);
      tf.dispose([spliced, t.embeds]);
    }
  } finally {
    m.dispose();
  }
});

test("CoOp: the released TextEncoder's features and the gradient through it, on the onnxruntime text tower and its VJP", async () => {
  const prompts = fixture(coopT, "prompts");
  const n = prompts.shape[0]!;
  const tower = await clip.textTower();
  const trace = await tower.forward({ embeds: prompts.data, n, eotIndex: coop.eot_index });
  assertNear(trace.textEmbeds, fixture(coopT, "text_features").data, "text features");
  const back = await trace.backward(null, fixture(coopT, "probe_raw").data);
  assertNear(back.inputEmbeds, fixture(coopT, "grad_prompts_raw").data, "d sum(features . probe) / d prompt embeddings");
  // The shared context's gradient: the sum over the prompts of their rows 1..M.
  const [L, W] = [prompts.shape[1]!, prompts.shape[2]!];
  const ctxGrad = new Float32Array(coop.n_ctx * W);
  for (let r = 0; r < n; r++) for (let k = 0; k < coop.n_ctx * W; k++) ctxGrad[k]! += back.inputEmbeds[r * L * W + W + k]!;
  assertNear(ctxGrad, fixture(coopT, "grad_ctx_raw").data, "d sum(features . probe) / d ctx");
});

test("CoOp: the model's normalised prompt pairs and their pullback to the context match CustomCLIP's", async () => {
  const m = await PromptLearnerClip.create(clip, "coop", { size: S, layers: LAYERS });
  try {
    const ctx = fixture(coopT, "ctx");
    m.context.vectors.assign(tf.tensor3d(ctx.data, [1, ...(ctx.shape as [number, number])]));
    await m.prepare(coop.categories);
    const expected = normalisedRows(fixture(coopT, "text_features").data, clip.config.embedDim);
    const ort = await m.promptPairsOrt(coop.categories);
    assertNear(ort.dataSync(), expected, "onnxruntime prompt pairs");
    const ref = m.promptPairs(coop.categories);
    assertNear(ref.dataSync(), expected, "tfjs prompt pairs");
    tf.dispose([ort, ref]);

    const trace = await m.tracePromptPairs(coop.categories, []);
    assertNear(trace.pairs.dataSync(), expected, "traced prompt pairs");
    const probe = tf.tensor3d(fixture(coopT, "probe_normalised").data, [coop.categories.length, 2, clip.config.embedDim]);
    const grads = await trace.pullback(probe);
    const g = grads.get(m.context.vectors);
    assert.ok(g, "a gradient for the context");
    assertNear(g.dataSync(), fixture(coopT, "grad_ctx_normalised").data, "d sum(normalised features . probe) / d ctx");
    tf.dispose([probe, ...grads.values()]);
    trace.dispose();
  } finally {
    m.dispose();
  }
});

test("CoCoOp: the preset is the released configuration and the context starts as the released ctx_init vectors", async () => {
  const preset = promptLearnerPreset("cocoop", clip.config);
  assert.equal(preset.contextLength, cocoop.n_ctx);
  assert.equal(cocoop.cfg["TRAINER.COCOOP.N_CTX"], 4);
  assert.equal(preset.contextInit, cocoop.ctx_init);
  assert.equal(preset.metaNet, true);
  const L = clip.config.text.contextLength;
  assert.deepEqual(tokenRows(clip.tokenizer.tokenize([cocoop.ctx_init], L), 1)[0], cocoop.ctx_init_tokens);
  const ctx = fixture(cocoopT, "ctx");
  assert.equal(maxAbsDiff(wordContext(clip.weights, clip.config, clip.tokenizer, cocoop.ctx_init, cocoop.n_ctx), ctx.data), 0);
  const m = await PromptLearnerClip.create(clip, "cocoop", { size: S, layers: LAYERS });
  try {
    assert.deepEqual(m.context.vectors.shape, [1, ...ctx.shape]);
    assert.equal(maxAbsDiff(m.context.vectors.dataSync(), ctx.data), 0);
  } finally {
    m.dispose();
  }
});

test("CoCoOp: our templates tokenise as the released prompts with 'X' in place of the ctx_init words, and splice to the same embeddings", async () => {
  const texts = cocoop.categories.flatMap((c) => ourTexts(c, cocoop.n_ctx));
  const ours = tokenRows(clip.tokenizer.tokenize(texts, clip.config.text.contextLength), texts.length);
  const x = clip.tokenizer.tokenize(["X"], clip.config.text.contextLength)[1]!;
  const words = cocoop.ctx_init_tokens.slice(1, -1);
  ours.forEach((row, r) => {
    assert.deepEqual(
      row.slice(1, 1 + cocoop.n_ctx),
      words.map(() => x),
      `prompt ${r}: placeholders`,
    );
    assert.deepEqual([row[0], ...words, ...row.slice(1 + cocoop.n_ctx)], cocoop.tokenized_prompts[r], `prompt ${r}`);
  });
  const m = await PromptLearnerClip.create(clip, "cocoop", { size: S, layers: LAYERS });
  try {
    const prompts = fixture(cocoopT, "prompts_unshifted");
    const per = prompts.shape[1]! * prompts.shape[2]!;
    for (const [c, t] of templates(cocoop.categories, cocoop.n_ctx).entries()) {
      assert.deepEqual(t.eotIndex, cocoop.eot_index.slice(2 * c, 2 * c + 2));
      const spliced = tf.tidy(() => m.context.splice(t, m.context.pair()));
      assert.equal(maxAbsDiff(spliced.dataSync(), prompts.data.subarray(2 * c * per, (2 * c + 2) * per)), 0, cocoop.categories[c]);
      tf.dispose([spliced, t.embeds]);
    }
    // With the initial context the released prompts are CLIP's own sentences ("a photo of a bottle without defect.").
    const tower = await clip.textTower();
    const out = await tower.run({ embeds: prompts.data, n: prompts.shape[0]!, eotIndex: cocoop.eot_index });
    assertNear(out.textEmbeds, fixture(cocoopT, "text_features_unshifted").data, "unshifted text features");
  } finally {
    m.dispose();
  }
});

/** A CoCoOp model holding the fixture's meta-net, and the two images' features from our vision tower. */
async function cocoopWithReleasedMetaNet(): Promise<{ m: PromptLearnerClip; features: ImageFeatures[] }> {
  const m = await PromptLearnerClip.create(clip, "cocoop", { size: S, layers: LAYERS });
  const net = m.metaNet!;
  const l1 = fixture(cocoopT, "meta_net.linear1.weight");
  const l2 = fixture(cocoopT, "meta_net.linear2.weight");
  net.w1.assign(tf.tensor2d(transposed(l1), [l1.shape[1]!, l1.shape[0]!]));
  net.b1.assign(tf.tensor1d(fixture(cocoopT, "meta_net.linear1.bias").data));
  net.w2.assign(tf.tensor2d(transposed(l2), [l2.shape[1]!, l2.shape[0]!]));
  net.b2.assign(tf.tensor1d(fixture(cocoopT, "meta_net.linear2.bias").data));
  const images = fixture(cocoopT, "images");
  const n = images.shape[0]!;
  const out = await clip.encodeImages(images.data, n, { layers: [clip.config.vision.layers] });
  const W = clip.config.vision.width;
  const features = Array.from({ length: n }, (_, i) => ({
    patchTokens: new Map<number, Float32Array>(),
    pooled: out.pooled.slice(i * W, (i + 1) * W),
    grid: S / clip.config.vision.patchSize,
    width: W,
  }));
  return { m, features };
}

test("CoCoOp: meta-net shapes (vis_dim -> vis_dim // 16 -> ctx_dim), the image features, the shift and the shifted prompts", async () => {
  const { m, features } = await cocoopWithReleasedMetaNet();
  try {
    const net = m.metaNet!;
    const s = cocoop.meta_net_shapes;
    assert.deepEqual(s["linear1.weight"], [cocoop.vis_dim / 16, cocoop.vis_dim]);
    assert.deepEqual(s["linear2.weight"], [cocoop.ctx_dim, cocoop.vis_dim / 16]);
    assert.deepEqual(
      [net.w1.shape, net.b1.shape, net.w2.shape, net.b2.shape],
      [[...s["linear1.weight"]!].reverse(), s["linear1.bias"], [...s["linear2.weight"]!].reverse(), s["linear2.bias"]],
    );
    assert.deepEqual([cocoop.vis_dim, cocoop.ctx_dim], [clip.config.embedDim, clip.config.text.width]);

    assertNear(Float32Array.from(features.flatMap((f) => [...f.pooled])), fixture(cocoopT, "image_pooled").data, "ln_post(class token)");
    const img = m.imageEmbeddings(features);
    assertNear(img.dataSync(), fixture(cocoopT, "image_features_normalised").data, "normalised image features");
    const shift = net.apply(img);
    assertNear(shift.dataSync(), fixture(cocoopT, "meta_net_shift").data, "meta-net shift");

    // Image i with its own category's pair: released rows [i, 2 c_i + s] of the shifted prompts.
    const shifted = fixture(cocoopT, "prompts_shifted");
    const [, nCls, L, W] = shifted.shape as [number, number, number, number];
    const tpl = templates(cocoop.image_category, cocoop.n_ctx);
    const spliced = m.context.spliceShifted(tpl, shift);
    const rows = cocoop.image_category.flatMap((c, i) => [0, 1].map((st) => i * nCls + 2 * cocoop.categories.indexOf(c) + st));
    assertNear(spliced.dataSync(), blocks(shifted.data, L * W, rows), "shifted prompt embeddings", 1e-6);
    tf.dispose([img, shift, spliced, ...tpl.map((t) => t.embeds)]);
  } finally {
    m.dispose();
  }
});

test("CoCoOp: per-image shifted prompts' text features match the released TextEncoder's, on both text towers", async () => {
  const { m, features } = await cocoopWithReleasedMetaNet();
  try {
    const feats = fixture(cocoopT, "text_features_shifted");
    const [n, nCls, E] = feats.shape as [number, number, number];
    const expected = normalisedRows(feats.data, E);
    await m.prepare(cocoop.categories);
    const img = m.imageEmbeddings(features);
    for (const [c, category] of cocoop.categories.entries()) {
      // Every image with the same category: released rows [i, 2c], [i, 2c + 1].
      const rows = Array.from({ length: n }, (_, i) => [i * nCls + 2 * c, i * nCls + 2 * c + 1]).flat();
      const cats = Array.from({ length: n }, () => category);
      const ort = await m.promptPairsOrt(cats, img);
      assertNear(ort.dataSync(), blocks(expected, E, rows), `onnxruntime, ${category}`);
      const ref = m.promptPairs(cats, img);
      assertNear(ref.dataSync(), blocks(expected, E, rows), `tfjs, ${category}`);
      tf.dispose([ort, ref]);
    }
    img.dispose();
  } finally {
    m.dispose();
  }
});

test("CoCoOp: the gradient w.r.t. the context and the meta-net through the onnxruntime VJP matches the released autograd", async () => {
  const { m, features } = await cocoopWithReleasedMetaNet();
  try {
    await m.prepare(cocoop.categories);
    const trace = await m.tracePromptPairs(cocoop.image_category, features);
    const probe = fixture(cocoopT, "probe");
    const dP = tf.tensor3d(probe.data, probe.shape as [number, number, number]);
    const grads = await trace.pullback(dP);
    const net = m.metaNet!;
    const got = (v: tf.Variable) => {
      const g = grads.get(v);
      assert.ok(g, `a gradient for ${v.name}`);
      return g.dataSync();
    };
    assertNear(got(m.context.vectors), fixture(cocoopT, "grad/ctx").data, "d objective / d ctx");
    assertNear(got(net.w1), transposed(fixture(cocoopT, "grad/meta_net.linear1.weight")), "d objective / d linear1.weight");
    assertNear(got(net.b1), fixture(cocoopT, "grad/meta_net.linear1.bias").data, "d objective / d linear1.bias");
    assertNear(got(net.w2), transposed(fixture(cocoopT, "grad/meta_net.linear2.weight")), "d objective / d linear2.weight");
    assertNear(got(net.b2), fixture(cocoopT, "grad/meta_net.linear2.bias").data, "d objective / d linear2.bias");
    tf.dispose([dP, ...grads.values()]);
    trace.dispose();
  } finally {
    m.dispose();
  }
});

test("CLIP-AC's ImageNet templates are the list in CoOp's trainers/imagenet_templates.py, in the same order", async () => {
  const doc = await readJson<{ templates: string[] }>("imagenet_templates.json");
  assert.equal(doc.templates.length, 80);
  assert.deepEqual([...IMAGENET_TEMPLATES], doc.templates);
});
