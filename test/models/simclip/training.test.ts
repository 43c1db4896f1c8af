import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { tf, tfReady } from "../../../src/tf.js";
import { SimClip } from "../../../src/models/simclip/model.js";
import { NonFiniteLossError, cosineLr } from "../../../src/models/common/train-loop.js";
import { loadCheckpoint } from "../../../src/models/common/checkpoint.js";
import { samplesTrainSource, MissingMaskError } from "../../../src/models/common/train-data.js";
import type { TrainItem, TrainSource } from "../../../src/models/common/types.js";
import { variableKey } from "../../../src/models/common/init.js";
import { fakeBackbone, fakeFeatures } from "../common/fake-backbone.js";

const S = 16,
  G = 4,
  LAYERS = [2, 4];

/** Anomalous images have a square defect whose patch tokens are shifted along a fixed direction. */
function items(n: number, seed: string): TrainItem[] {
  return Array.from({ length: n }, (_, i) => {
    const f = fakeFeatures(`${seed}${i}`, G, LAYERS);
    const label = (i % 2) as 0 | 1;
    const mask = new Uint8Array(S * S);
    if (label) {
      for (let y = 4; y < 12; y++) for (let x = 4; x < 12; x++) mask[y * S + x] = 1;
      for (const l of LAYERS) {
        const t = f.patchTokens.get(l)!;
        for (const p of [5, 6, 9, 10]) for (let k = 0; k < f.width; k++) t[p * f.width + k]! += k % 2 ? 2 : -2;
      }
    }
    return { features: f, category: i % 3 ? "pcb" : "metal_nut", label, mask };
  });
}

function source(list: TrainItem[]): TrainSource {
  return { length: list.length, categories: [...new Set(list.map((i) => i.category))], get: async (i) => list[i]! };
}

function totalLoss(m: SimClip, batch: TrainItem[]): number {
  return tf.tidy(() => m.objective(batch).reduce((s, term) => s + term().loss.dataSync()[0]!, 0));
}

test("finite-difference check of the whole objective's gradient (training's onnxruntime route), every trainable tensor", async () => {
  await tfReady();
  // A smaller logit scale keeps the float32 central differences in the smooth regime.
  const m = await SimClip.create(fakeBackbone(), { layers: LAYERS, size: S, logitScale: 5, iptHidden: 6 }, 3);
  const batch = items(4, "fd");
  await m.prepare(["pcb", "metal_nut"]);
  const { grads } = await m.lossAndGradients(batch);
  const h = 1e-2;
  for (const v of m.trainableVariables()) {
    const g = grads.get(v);
    assert.ok(g, `${variableKey(v)} has a gradient`);
    const dir = tf.randomNormal(v.shape, 0, 1, "float32", 11);
    const unit = tf.div(dir, tf.norm(dir));
    const analytic = tf.sum(tf.mul(g, unit)).dataSync()[0]!;
    const orig = v.clone();
    v.assign(tf.add(orig, tf.mul(unit, h)));
    const plus = totalLoss(m, batch);
    v.assign(tf.sub(orig, tf.mul(unit, h)));
    const minus = totalLoss(m, batch);
    v.assign(orig);
    const numeric = (plus - minus) / (2 * h);
    assert.ok(Math.abs(numeric - analytic) <= 0.02 * Math.abs(analytic) + 2e-4, `${variableKey(v)}: finite difference ${numeric} vs gradient ${analytic}`);
    tf.dispose([dir, unit, orig, g]);
  }
  m.dispose();
});

test("training lowers the loss; the cosine schedule is PyTorch's over 1.2 x epochs, stepped per epoch", async () => {
  await tfReady();
  const m = await SimClip.create(fakeBackbone(), { layers: LAYERS, size: S }, 111);
  const h = await m.fit(source(items(8, "fit")), { epochs: 5, batchSize: 4, seed: 111 });
  assert.equal(h.epochLoss.length, 5);
  // Measured: 24.0, 23.0, 22.3, 21.7, 21.4 (random features; the CE at logit scale 100 dominates).
  for (let e = 1; e < 5; e++) assert.ok(h.epochLoss[e]! < h.epochLoss[e - 1]!, `epoch losses ${h.epochLoss}`);
  assert.ok(h.epochLoss[4]! < 0.95 * h.epochLoss[0]!, `epoch losses ${h.epochLoss}`);
  // CosineAnnealingLR(T_max = 6): lr_e = 1e-3 (1 + cos(pi e / 6)) / 2.
  assert.deepEqual(
    h.epochLr.map((v) => Number(v.toPrecision(10))),
    [1e-3, 9.330127019e-4, 7.5e-4, 5e-4, 2.5e-4],
  );
  assert.equal(cosineLr(1, 6, 6), 0);
  assert.equal(h.steps.length, 10);
  assert.ok(h.steps.every((s) => "ce" in s.parts && "focal_2" in s.parts && "dice_4" in s.parts));
  m.dispose();
});

test("NaN loss stops training with a NonFiniteLossError and the last good checkpoint stays loadable", async () => {
  await tfReady();
  const dir = await mkdtemp(path.join(tmpdir(), "simclip-nan-"));
  try {
    const good = items(4, "nan");
    let poisoned = false;
    const src: TrainSource = {
      length: 4,
      categories: ["pcb", "metal_nut"],
      async get(i) {
        const it = good[i]!;
        if (!poisoned) return it;
        const pooled = it.features.pooled.slice();
        pooled[0] = NaN;
        return { ...it, features: { ...it.features, pooled } };
      },
    };
    const m = await SimClip.create(fakeBackbone(), { layers: LAYERS, size: S });
    let err: unknown;
    try {
      await m.fit(src, {
        epochs: 3,
        batchSize: 2,
        checkpointDir: dir,
        onStep: (s) => {
          if (s.epoch === 0 && s.step === 1) poisoned = true;
        },
      });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof NonFiniteLossError, `got ${String(err)}`);
    assert.equal(err.epoch, 1);
    assert.match(err.message, /last good checkpoint/);
    const ckpt = await loadCheckpoint(dir);
    for (const [k, t] of ckpt.state.tensors) assert.ok(t.data.every(Number.isFinite), `${k} finite`);
    // The parameters in memory were not touched by the NaN step either.
    for (const v of m.trainableVariables()) assert.ok(v.dataSync().every(Number.isFinite));
    m.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("training data with an anomalous image but no mask is a MissingMaskError naming the image", async () => {
  const sample = { imagePath: "/data/pcb/test/hole/000.png", maskPath: null, label: 1 as const, category: "pcb", defectType: "hole", split: "test" as const };
  const features = { ensure: async () => {}, get: async () => fakeFeatures("x", G, LAYERS) };
  await assert.rejects(
    samplesTrainSource([sample], { features, loadMask: async () => new Uint8Array(S * S), size: S }),
    (e: unknown) => e instanceof MissingMaskError && e.message.includes("/data/pcb/test/hole/000.png"),
  );
});
