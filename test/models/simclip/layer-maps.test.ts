/**
 * Per-layer maps (`FeatureBatch.layerMaps`, for `simclip serve`'s page) and a checkpoint's layers
 * taken in part: asking for the layer maps changes no summed map or score, the layer maps add up to
 * the summed map, and a SimCLIP built on some of a checkpoint's layers gives the sum of those layers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { tfReady } from "../../../src/tf.js";
import { SimClip } from "../../../src/models/simclip/model.js";
import { SimClipPlus } from "../../../src/models/simclip-plus/model.js";
import { createSimClipMethod, saveSimClip } from "../../../src/models/simclip/factory.js";
import { CheckpointMismatchError, loadCheckpoint } from "../../../src/models/common/checkpoint.js";
import { fakeBackbone, fakeFeatures } from "../common/fake-backbone.js";

const LAYERS = [1, 2, 4];
const SIZE = 16;
const GRID = SIZE / 4;
const query = () => ({ features: ["q0", "q1"].map((s) => fakeFeatures(s, GRID, LAYERS)), categories: ["pcb", "pcb"] });

function sumOf(maps: Float32Array[]): Float32Array {
  const out = new Float32Array(maps[0]!.length);
  for (const m of maps)
    m.forEach((v, i) => {
      out[i]! += v;
    });
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

test("SimCLIP's layer maps leave maps and scores bit-identical and add up to the summed map", async () => {
  await tfReady();
  const m = await SimClip.create(fakeBackbone(), { layers: LAYERS, size: SIZE, sigma: 2 }, 3);
  try {
    const plain = await m.score(query());
    const layered = await m.score({ ...query(), layerMaps: true });
    assert.equal(plain.layerMaps, undefined);
    assert.deepEqual([...layered.scores], [...plain.scores]);
    for (let i = 0; i < 2; i++) {
      assert.deepEqual([...layered.maps[i]!], [...plain.maps[i]!], `image ${i}: summed map changed`);
      const perLayer = layered.layerMaps![i]!;
      assert.equal(perLayer.length, LAYERS.length);
      // The Gaussian is linear: smoothing each layer and adding equals smoothing the sum.
      assert.ok(maxAbsDiff(sumOf(perLayer), plain.maps[i]!) < 1e-5, `image ${i}: layer maps do not add up`);
      for (const l of perLayer)
        assert.ok(
          l.every((v) => v >= 0 && v <= 1),
          "each layer map is a probability",
        );
    }
  } finally {
    m.dispose();
  }
});

test("SimCLIP+'s layer maps are SimCLIP's zero-shot layer maps; its own maps and scores are unchanged", async () => {
  await tfReady();
  const build = async () => new SimClipPlus(await SimClip.create(fakeBackbone(), { layers: LAYERS, size: SIZE, sigma: 2 }, 3));
  const normals = ["n0", "n1"].map((s) => fakeFeatures(s, GRID, LAYERS));
  const [a, b, zero] = [await build(), await build(), await SimClip.create(fakeBackbone(), { layers: LAYERS, size: SIZE, sigma: 2 }, 3)];
  try {
    await a.setMemory("pcb", normals);
    await b.setMemory("pcb", normals);
    const plain = a.finalizeCategory("pcb", await a.score(query()));
    const layered = b.finalizeCategory("pcb", await b.score({ ...query(), layerMaps: true }));
    const zeroShot = await zero.score({ ...query(), layerMaps: true });
    assert.deepEqual([...layered.scores], [...plain.scores]);
    for (let i = 0; i < 2; i++) {
      assert.deepEqual([...layered.maps[i]!], [...plain.maps[i]!]);
      layered.layerMaps![i]!.forEach((l, k) => {
        assert.deepEqual([...l], [...zeroShot.layerMaps![i]![k]!], `image ${i} layer ${LAYERS[k]}`);
      });
    }
  } finally {
    [a, b, zero].forEach((m) => {
      m.dispose();
    });
  }
});

test("a SimCLIP on some of a checkpoint's layers gives those layers' maps; other layers are a CheckpointMismatchError", async () => {
  await tfReady();
  const dir = await mkdtemp(path.join(tmpdir(), "simclip-layer-subset-"));
  const full = await SimClip.create(fakeBackbone(), { layers: LAYERS, size: SIZE, sigma: 2 }, 7);
  try {
    await saveSimClip(full, dir);
    const ckpt = await loadCheckpoint(dir);
    const all = await full.score({ ...query(), layerMaps: true });
    const part = await createSimClipMethod({ backbone: fakeBackbone(), checkpoint: ckpt, layers: [4, 1] });
    try {
      assert.deepEqual(part.layers, [4, 1]);
      const out = await part.score(query());
      assert.deepEqual([...out.scores], [...all.scores], "the image score does not depend on the hooked layers");
      for (let i = 0; i < 2; i++) {
        const want = sumOf([all.layerMaps![i]![2]!, all.layerMaps![i]![0]!]);
        assert.ok(maxAbsDiff(out.maps[i]!, want) < 1e-5, `image ${i}: layers 4,1 of the checkpoint`);
      }
    } finally {
      part.dispose();
    }
    await assert.rejects(
      createSimClipMethod({ backbone: fakeBackbone(), checkpoint: ckpt, layers: [1, 3] }),
      (e: unknown) => e instanceof CheckpointMismatchError && /adapters for layers 1,2,4, not for 3: choose layers among 1,2,4/.test(e.message),
    );
  } finally {
    full.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});
