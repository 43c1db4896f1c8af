import { test, after } from "node:test";
import assert from "node:assert/strict";
import { tf, tfReady } from "../../src/tf.js";
import { loadClipDir } from "../../src/clip/weights.js";
import type { ClipActivation } from "../../src/clip/config.js";
import { textTower } from "../../src/clip/architecture.js";
import { disposeTfClip, eotIndices, eotOneHot, textForwardTf, textTokenEmbedsTf } from "../../src/clip/tfjs-forward.js";
import { OrtTextTower, releaseOrtTextTowers, ortTextTower, textForwardOrt } from "../../src/clip/text-vjp.js";
import { ShapeError } from "../../src/errors.js";
import { TINY_DIR, tinyReference, assertClose } from "./reference.js";
import { F64ClipOps, type F64 } from "./f64-ops.js";

const ref = tinyReference();
const loaded = loadClipDir(TINY_DIR);
after(async () => {
  const { weights } = await loaded;
  disposeTfClip(weights);
  await releaseOrtTextTowers(weights);
});

const DEEP = { depth: 1, length: 3 };
const W = 32;

/** Reference prompts `rows` as token embeddings (tfjs) and EOT positions. */
async function prompts(rows: number[]) {
  const { weights, config } = await loaded;
  const ids = Int32Array.from(rows.flatMap((r) => ref.text[r]!.input_ids));
  return { embeds: textTokenEmbedsTf(weights, config, ids, rows.length), eot: eotIndices(ids, rows.length, 77) };
}

/** max |a - b| / max |b|. */
function relErr(a: tf.Tensor | ArrayLike<number>, b: tf.Tensor | ArrayLike<number>): number {
  const [x, y] = [a, b].map((t) => (t instanceof tf.Tensor ? t.dataSync() : t));
  let d = 0,
    s = 0;
  for (let i = 0; i < y!.length; i++) {
    d = Math.max(d, Math.abs(x![i]! - y![i]!));
    s = Math.max(s, Math.abs(y![i]!));
  }
  assert.equal(x!.length, y!.length);
  return d / s;
}

test("onnxruntime text tower from embeddings: the tfjs executor's outputs and OpenAI's reference", async () => {
  await tfReady();
  const { weights, config } = await loaded;
  const rows = [0, 3, 7];
  const { embeds, eot } = await prompts(rows);
  const tower = await ortTextTower(weights, config);
  const out = await tower.run({ embeds: embeds.dataSync() as Float32Array, n: 3, eotIndex: eot });
  const tfOut = textForwardTf(weights, config, embeds, eot);
  assertClose(
    out.textEmbeds,
    rows.flatMap((r) => ref.text[r]!.text_embeds),
    "text_embeds vs reference",
  );
  assertClose(
    out.pooled,
    rows.flatMap((r) => ref.text[r]!.last_hidden_state[ref.text[r]!.eot_index]!),
    "pooled vs reference last_hidden_state at EOT",
  );
  assert.ok(relErr(out.pooled, tfOut.pooled) <= 1e-5 && relErr(out.textEmbeds, tfOut.textEmbeds) <= 1e-5);
  // The forward pass of a trace (residuals fetched too) gives the same outputs.
  const trace = await tower.forward({ embeds: embeds.dataSync() as Float32Array, n: 3, eotIndex: eot });
  assert.deepEqual([...trace.pooled], [...out.pooled]);
  tf.dispose([embeds, tfOut.lastHiddenState, tfOut.pooled, tfOut.textEmbeds]);
});

for (const activation of ["quick-gelu", "gelu"] as ClipActivation[]) {
  for (const deep of [false, true]) {
    test(`VJP on onnxruntime = tfjs autodiff within 1e-5 (${activation}${deep ? ", deep prompts" : ""}; batch 3 then 1, one session)`, async () => {
      await tfReady();
      const { weights } = await loaded;
      const config = { ...(await loaded).config, activation };
      const tower = await ortTextTower(weights, config, deep ? { deep: DEEP } : {});
      for (const rows of [[0, 3, 5], [6]]) {
        const n = rows.length;
        const { embeds, eot } = await prompts(rows);
        const deepPrompts = deep ? tf.randomNormal([DEEP.depth, DEEP.length, W], 0, 0.1, "float32", 5) : undefined;
        const gP = tf.randomNormal([n, W], 0, 1, "float32", 1);
        const gE = tf.randomNormal([n, config.embedDim], 0, 1, "float32", 2);
        const f = (x: tf.Tensor, d?: tf.Tensor) => {
          const o = textForwardTf(weights, config, x, eot, d);
          return tf.add(tf.sum(tf.mul(o.pooled, gP)), tf.sum(tf.mul(o.textEmbeds, gE)));
        };
        const want = deepPrompts ? tf.grads((x: tf.Tensor, d: tf.Tensor) => f(x, d))([embeds, deepPrompts]) : [tf.grad((x: tf.Tensor) => f(x))(embeds)];
        const trace = await textForwardOrt(tower, embeds, eot, deepPrompts);
        const got = await trace.backward(gP, gE);
        const e = relErr(got.inputEmbeds, want[0]!);
        assert.ok(e <= 1e-5, `input embeddings: relative error ${e}`);
        if (deepPrompts) {
          const d = relErr(got.deepPrompts!, want[1]!);
          assert.ok(d <= 1e-5, `deep prompts: relative error ${d}`);
        } else assert.equal(got.deepPrompts, null);
        // Causal mask: nothing after a row's EOT receives a gradient.
        const g = got.inputEmbeds.arraySync() as number[][][];
        eot.forEach((e, r) => {
          assert.ok(g[r]!.slice(e + 1).every((row) => row.every((v) => v === 0)));
        });
        tf.dispose([embeds, gP, gE, trace.pooled, trace.textEmbeds, got.inputEmbeds, ...want, ...(deepPrompts ? [deepPrompts, got.deepPrompts!] : [])]);
      }
    });
  }
}

test("VJP on onnxruntime = float64 central finite differences within 1e-5 (both activations, deep prompts)", async () => {
  await tfReady();
  const { weights } = await loaded;
  const rows = [1, 5];
  const n = rows.length;
  const { embeds, eot } = await prompts(rows);
  const x0 = Float64Array.from(embeds.dataSync());
  const d0 = Float64Array.from({ length: DEEP.depth * DEEP.length * W }, (_, i) => 0.1 * Math.sin(1.7 * i + 0.3));
  const gP = Float64Array.from({ length: n * W }, (_, i) => Math.cos(0.37 * i));
  const gE = Float64Array.from({ length: n * W }, (_, i) => Math.sin(0.53 * i));
  for (const activation of ["quick-gelu", "gelu"] as ClipActivation[]) {
    const config = { ...(await loaded).config, activation };
    const ops = new F64ClipOps();
    const onehot: F64 = { data: Float64Array.from(eotOneHot(eot, 77)), shape: [n, 1, 77] };
    const f = (x: Float64Array, d: Float64Array) => {
      const o = textTower(ops, weights, config, { data: x, shape: [n, 77, W] }, onehot, {
        deep: { prompts: { data: d, shape: [DEEP.depth, DEEP.length, W] }, ...DEEP },
      });
      let s = 0;
      for (let i = 0; i < n * W; i++) s += gP[i]! * o.pooled.data[i]! + gE[i]! * o.textEmbeds.data[i]!;
      return s;
    };
    const tower = await ortTextTower(weights, config, { deep: DEEP });
    const trace = await tower.forward({ embeds: Float32Array.from(x0), n, eotIndex: eot, deepPrompts: Float32Array.from(d0) });
    const g = await trace.backward(Float32Array.from(gP), Float32Array.from(gE));
    const h = 1e-4;
    const central = (dx: Float64Array, dd: Float64Array) =>
      (f(
        x0.map((v, i) => v + h * dx[i]!),
        d0.map((v, i) => v + h * dd[i]!),
      ) -
        f(
          x0.map((v, i) => v - h * dx[i]!),
          d0.map((v, i) => v - h * dd[i]!),
        )) /
      (2 * h);
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let s = 0;
      for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
      return s;
    };
    const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));
    // Along a random direction of each input, then of both at once.
    const ux = Float64Array.from({ length: x0.length }, (_, i) => Math.sin(12.9898 * i + 78.233));
    const ud = Float64Array.from({ length: d0.length }, (_, i) => Math.cos(4.1414 * i + 1.5));
    for (const [dx, dd, what] of [
      [ux, new Float64Array(d0.length), "input embeddings"],
      [new Float64Array(x0.length), ud, "deep prompts"],
      [ux, ud, "both"],
    ] as const) {
      const numeric = central(dx, dd);
      const analytic = dot(g.inputEmbeds, dx) + dot(g.deepPrompts!, dd);
      const scale = Math.hypot(norm(g.inputEmbeds) * norm(dx), norm(g.deepPrompts!) * norm(dd));
      assert.ok(Math.abs(numeric - analytic) <= 1e-5 * scale, `${activation}, ${what}: finite difference ${numeric} vs VJP ${analytic} (scale ${scale})`);
    }
    // A few single coordinates: the start token, a prompt word, the EOT, a deep-prompt entry.
    const gmax = Math.max(...g.inputEmbeds.map(Math.abs));
    for (const [r, pos, k] of [
      [0, 0, 3],
      [0, 2, 17],
      [1, eot[1]!, 31],
    ] as const) {
      const dx = new Float64Array(x0.length);
      dx[(r * 77 + pos) * W + k] = 1;
      const numeric = central(dx, new Float64Array(d0.length));
      const analytic = g.inputEmbeds[(r * 77 + pos) * W + k]!;
      assert.ok(Math.abs(numeric - analytic) <= 1e-5 * gmax, `${activation}: d/dx[${r},${pos},${k}] numeric ${numeric} vs ${analytic}`);
    }
    const dd = new Float64Array(d0.length);
    dd[W + 7] = 1;
    const numeric = central(new Float64Array(x0.length), dd);
    assert.ok(
      Math.abs(numeric - g.deepPrompts![W + 7]!) <= 1e-5 * Math.max(...g.deepPrompts!.map(Math.abs)),
      `${activation}: deep prompt entry: ${numeric} vs ${g.deepPrompts![W + 7]}`,
    );
  }
  embeds.dispose();
});

test("batches run cut after their last EOT (rounded up to 8 positions): the tests above cover cut and full lengths", async () => {
  const { weights, config } = await loaded;
  const tower = await ortTextTower(weights, config);
  assert.deepEqual(
    [[9, 11], [6], [0], [70, 3], [76]].map((e) => tower.sequenceLength(e)),
    [16, 8, 8, 72, 77],
  );
  assert.equal((await ortTextTower(weights, config, { deep: DEEP })).sequenceLength([1]), 8);
});

test("a trace's backward runs once; malformed inputs are ShapeErrors", async () => {
  const { weights, config } = await loaded;
  const tower = await ortTextTower(weights, config);
  const embeds = new Float32Array(77 * W);
  const trace = await tower.forward({ embeds, n: 1, eotIndex: [5] });
  await trace.backward(null, new Float32Array(config.embedDim));
  await assert.rejects(trace.backward(null, null), ShapeError);
  await assert.rejects(tower.forward({ embeds, n: 2, eotIndex: [5, 6] }), ShapeError);
  await assert.rejects(tower.forward({ embeds, n: 1, eotIndex: [5], deepPrompts: new Float32Array(3 * W) }), ShapeError);
  const t2 = await tower.forward({ embeds, n: 1, eotIndex: [5] });
  await assert.rejects(t2.backward(new Float32Array(3), null), ShapeError);
  await assert.rejects(OrtTextTower.create(weights, config, { deep: { depth: config.text.layers, length: 2 } }), ShapeError);
});

test("residual buffers are reused only once a trace is done: interleaved traces keep their own", async () => {
  const { weights, config } = await loaded;
  const tower = await ortTextTower(weights, config);
  const a = await prompts([0, 3]),
    b = await prompts([5, 6]);
  const up = new Float32Array(2 * config.embedDim).fill(1);
  const alone = async (p: typeof a) =>
    (await (await tower.forward({ embeds: p.embeds.dataSync() as Float32Array, n: 2, eotIndex: p.eot })).backward(null, up)).inputEmbeds;
  const [wantA, wantB] = [await alone(a), await alone(b)];
  const ta = await tower.forward({ embeds: a.embeds.dataSync() as Float32Array, n: 2, eotIndex: a.eot });
  const tb = await tower.forward({ embeds: b.embeds.dataSync() as Float32Array, n: 2, eotIndex: b.eot });
  assert.deepEqual([...(await ta.backward(null, up)).inputEmbeds], [...wantA]);
  const tc = await tower.forward({ embeds: a.embeds.dataSync() as Float32Array, n: 2, eotIndex: a.eot });
  assert.deepEqual([...(await tb.backward(null, up)).inputEmbeds], [...wantB]);
  assert.deepEqual([...(await tc.backward(null, up)).inputEmbeds], [...wantA]);
  tf.dispose([a.embeds, b.embeds]);
});
