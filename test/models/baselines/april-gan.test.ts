import { test } from "node:test";
import assert from "node:assert/strict";
import { tf, tfReady } from "../../../src/tf.js";
import { computeGradients } from "../../../src/models/common/train-loop.js";
import { aprilGanPrompts, APRIL_GAN_TEMPLATES } from "../../../src/models/april-gan/prompts.js";
import { AprilGan } from "../../../src/models/april-gan/model.js";
import { trainingProtocolFor } from "../../../src/models/common/train-options.js";
import { FrozenPromptEmbeddings } from "../../../src/models/components/frozen-prompts.js";
import type { TrainItem } from "../../../src/models/common/types.js";
import { fakeBackbone, fakeFeatures, TINY } from "../common/fake-backbone.js";
import { bilinearAlignCorners, cosine, withTextEmbeds } from "./tiny.js";

test("APRIL-GAN prompt ensemble: 7 normal and 5 anomalous states x 35 templates, states outer, raw class names as the released code uses them", () => {
  const p = aprilGanPrompts("metal_nut");
  assert.equal(APRIL_GAN_TEMPLATES.length, 35);
  assert.equal(p.normal.length, 7 * 35);
  assert.equal(p.anomalous.length, 5 * 35);
  assert.equal(p.normal[0], "a bad photo of a metal_nut.");
  assert.equal(p.normal[4 * 35 + 18], "a photo of a metal_nut without flaw.");
  assert.equal(p.anomalous[35], "a bad photo of a broken metal_nut.");
  assert.equal(p.anomalous[5 * 35 - 1], "this is one metal_nut with damage in the scene.");
  assert.equal(new Set([...p.normal, ...p.anomalous]).size, 12 * 35);
});

test("prompt ensemble embedding: normalise each, average per state, normalise again", async () => {
  const embeds: Record<string, number[]> = { a: [3, 4], b: [0, 2], c: [1, 0] };
  const tower = {
    async encodeText(texts: string[]) {
      const n = texts.length;
      return {
        n,
        inputIds: new Int32Array(n * 77),
        eotIndex: texts.map(() => 1),
        lastHiddenState: new Float32Array(0),
        textEmbeds: Float32Array.from(texts.flatMap((t) => embeds[t]!)),
      };
    },
  };
  const store = new FrozenPromptEmbeddings(tower, () => ({ normal: ["a", "b"], anomalous: ["c"] }), 2);
  await store.ensure(["x"]);
  // normal: mean of (0.6, 0.8) and (0, 1) = (0.3, 0.9), normalised; anomalous: (1, 0).
  const r = Math.hypot(0.3, 0.9);
  const got = store.get("x");
  [0.3 / r, 0.9 / r, 1, 0].forEach((v, i) => {
    assert.ok(Math.abs(got[i]! - v) < 1e-6, `component ${i}: ${got[i]} vs ${v}`);
  });
});

test("APRIL-GAN few-shot map: sum over layers of upsampled min over the memory of (1 - cos), against brute force; the image score combines per class", async () => {
  await tfReady();
  const G = 4,
    S = 16,
    LAYERS = [2, 4];
  const m = await AprilGan.create(withTextEmbeds(fakeBackbone()), { size: S, layers: LAYERS });
  const refs = [fakeFeatures("ref0", G, LAYERS), fakeFeatures("ref1", G, LAYERS)];
  await m.setMemory("pcb", refs);
  const query = fakeFeatures("query", G, LAYERS);
  const got = await m.fewShotMap("pcb", query);
  const expected = new Array<number>(S * S).fill(0);
  const W = TINY.width;
  for (const l of LAYERS) {
    const q = query.patchTokens.get(l)!;
    const grid = Array.from({ length: G * G }, (_, p) => {
      let best = Infinity;
      for (const r of refs) {
        const t = r.patchTokens.get(l)!;
        for (let j = 0; j < G * G; j++) best = Math.min(best, 1 - cosine(q.subarray(p * W, (p + 1) * W), t.subarray(j * W, (j + 1) * W)));
      }
      return best;
    });
    bilinearAlignCorners(grid, G, S).forEach((v, i) => {
      expected[i]! += v;
    });
  }
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(got[i]! - expected[i]!) < 1e-5, `pixel ${i}: ${got[i]} vs ${expected[i]}`);
  // A memory image scored against itself has no few-shot distance: its map is the zero-shot map.
  const self = await m.fewShotMap("pcb", refs[0]!);
  assert.ok(Math.max(...self.map(Math.abs)) < 1e-5);
  const out = await m.score({ features: [query, refs[0]!], categories: ["pcb", "pcb"] });
  const fin = m.finalizeCategory("pcb", out);
  // Two images: min-max maps their maxima to {0, 1}, so score = 0.5 * (text prob + {0 or 1}).
  const hi = Math.max(...out.maps[0]!) > Math.max(...out.maps[1]!) ? 0 : 1;
  assert.ok(Math.abs(fin.scores[hi]! - 0.5 * (out.scores[hi]! + 1)) < 1e-6);
  assert.ok(Math.abs(fin.scores[1 - hi]! - 0.5 * out.scores[1 - hi]!) < 1e-6);
  m.dispose();
});

test("APRIL-GAN training (focal + dice on the adapters only): onnxruntime route = autodiff, and it lowers the loss", async () => {
  await tfReady();
  const G = 4,
    S = 16,
    LAYERS = [2, 4];
  const list: TrainItem[] = Array.from({ length: 8 }, (_, i) => {
    const f = fakeFeatures(`t${i}`, G, LAYERS);
    const mask = new Uint8Array(S * S);
    if (i % 2) {
      for (let y = 4; y < 12; y++) for (let x = 4; x < 12; x++) mask[y * S + x] = 1;
      for (const l of LAYERS) for (const p of [5, 6, 9, 10]) for (let k = 0; k < f.width; k++) f.patchTokens.get(l)![p * f.width + k]! += k % 2 ? 2 : -2;
    }
    return { features: f, category: "pcb", label: (i % 2) as 0 | 1, mask };
  });
  const m = await AprilGan.create(withTextEmbeds(fakeBackbone()), { size: S, layers: LAYERS });
  await m.prepare(["pcb"]);
  // Training's route (adapter products on onnxruntime) gives tfjs autodiff's gradients.
  const fast = await m.lossAndGradients(list.slice(0, 4));
  const plain = computeGradients(m, list.slice(0, 4));
  assert.ok(Math.abs(fast.loss - plain.loss) < 1e-5 * plain.loss);
  for (const v of m.trainableVariables()) {
    const d = tf.max(tf.abs(tf.sub(fast.grads.get(v)!, plain.grads.get(v)!))).dataSync()[0]!;
    const scale = tf.max(tf.abs(plain.grads.get(v)!)).dataSync()[0]!;
    assert.ok(scale > 0 && d <= 1e-3 * scale, `${v.name}: ${d} vs scale ${scale}`);
  }
  const vars = m.trainableVariables().length;
  assert.equal(vars, 4, "one weight and one bias per hooked layer; nothing else trains");
  const h = await m.fit({ length: list.length, categories: ["pcb"], get: async (i) => list[i]! }, { epochs: 4, batchSize: 4 });
  assert.ok(h.epochLoss[3]! < h.epochLoss[0]!, `epoch losses ${h.epochLoss}`);
  // train.py has no scheduler: lr 1e-3 throughout.
  assert.deepEqual(h.epochLr, [1e-3, 1e-3, 1e-3, 1e-3]);
  m.dispose();
});

test("APRIL-GAN trains with its train.sh recipe: batch 8, Adam 1e-3 (0.5, 0.999), no schedule; MVTec 3 epochs with mosaic 0.2, VisA 15 without; a quick setup still overrides", async () => {
  await tfReady();
  const m = await AprilGan.create(withTextEmbeds(fakeBackbone()), { size: 16, layers: [2, 4] });
  const released = { batchSize: 8, lr: 1e-3, betas: [0.5, 0.999], schedule: "constant", seed: 111 };
  assert.deepEqual(trainingProtocolFor(m, "mvtec"), { ...released, epochs: 3, mosaicRate: 0.2 });
  assert.deepEqual(trainingProtocolFor(m, "visa"), { ...released, epochs: 15, mosaicRate: 0 });
  assert.deepEqual(trainingProtocolFor(m, "mvtec", { epochs: 1, batchSize: 4, mosaicRate: 0 }), { ...released, epochs: 1, batchSize: 4, mosaicRate: 0 });
  m.dispose();
});
