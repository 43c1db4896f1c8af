import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ClipModel } from "../../src/clip/model.js";
import { clipFeatureSource, FeatureCache } from "../../src/cache/index.js";
import { TINY_DIR, tinyReference } from "../clip-model/reference.js";

process.env.SIMCLIP_QUIET = "1";

test("clipFeatureSource through the cache: raw block outputs without the class token, and the ln_post class token, match OpenAI's clip-tiny", async () => {
  const ref = tinyReference();
  const name = "02_rgb_64x64.png"; // 64 x 64 = the model's resolution: both transforms leave the pixels as OpenAI's reference has them
  const model = await ClipModel.load(TINY_DIR);
  const dir = await mkdtemp(path.join(os.tmpdir(), "simclip-clip-source-"));
  try {
    const layers = [4, 1, 3];
    const source = clipFeatureSource(model, { size: 64, layers, batchSize: 2, transform: "clip" });
    assert.deepEqual(source.layers, [1, 3, 4]);
    assert.match(source.id, new RegExp(`model=${model.fingerprint};preprocess=clip-clip;size=64;layers=1,3,4`));
    const cache = await FeatureCache.open(dir, source);
    const f = await cache.get(path.join(TINY_DIR, "images", name));
    assert.equal(f.grid, 8);
    assert.equal(f.width, 128);
    const W = 128;
    // fp16 storage: relative error 2^-11 on top of the fixtures' 1e-4 bound.
    for (const l of [1, 3, 4]) {
      const expected = ref.vision[name]!.hidden_states[l - 1]!.slice(1).flat();
      const got = f.patchTokens.get(l)!;
      assert.equal(got.length, 64 * W);
      for (let i = 0; i < got.length; i++)
        assert.ok(Math.abs(got[i]! - expected[i]!) <= 1e-4 + Math.abs(expected[i]!) * 2 ** -11, `layer ${l} value ${i}: ${got[i]} vs ${expected[i]}`);
    }
    // pooled @ visual.proj must give OpenAI's image embedding (proj is [W, E]).
    const proj = model.weights.get("visual.proj")!;
    const E = proj.shape[1]!;
    for (let j = 0; j < E; j++) {
      let dot = 0;
      let bound = 1e-4;
      for (let i = 0; i < W; i++) {
        dot += f.pooled[i]! * proj.data[i * E + j]!;
        bound += Math.abs(f.pooled[i]! * proj.data[i * E + j]!) * 2 ** -10;
      }
      assert.ok(Math.abs(dot - ref.vision[name]!.image_embeds[j]!) <= bound, `image_embeds[${j}]`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await model.dispose();
  }
});
