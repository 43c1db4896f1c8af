/**
 * The DPAM variant of the vision tower against what the released AnomalyCLIP code computed on the tiny
 * CLIP (`test/fixtures/released-anomalyclip`, DPAM_layer 4: blocks 2-4 of 4 replaced): the resized
 * positional embedding, the hooked features after ln_post @ visual.proj (the v-v stream of the
 * replaced blocks) and the image feature (class token of the q-k stream @ visual.proj, no ln_post),
 * from the fixture's own network input and from our preprocessing of the image file.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ClipModel } from "../../../src/clip/model.js";
import { dpamBlocksOf } from "../../../src/clip/architecture.js";
import { interpolatePosEmbedBilinear } from "../../../src/clip/pos-embed.js";
import { clipFeatureSource } from "../../../src/cache/index.js";
import { ShapeError } from "../../../src/errors.js";
import { readNpy } from "../../../src/viz/npy.js";
import { maxAbsDiff } from "../../clip-model/reference.js";

const FIX = path.join(import.meta.dirname, "../../fixtures/released-anomalyclip");
const TINY = path.join(import.meta.dirname, "../../fixtures/clip-tiny");
const DATA = path.join(FIX, "../released-simclip/data/mvtec");

interface Debug {
  img_path: string;
  image_features_unnormalised: number[];
}

let model: ClipModel;
let debug: Debug;

before(async () => {
  model = await ClipModel.load(TINY, { activation: "quick-gelu", threads: 1 });
  debug = (JSON.parse(await readFile(path.join(FIX, "test-80.json"), "utf8")) as { debug_first_image: Debug }).debug_first_image;
});
after(async () => {
  await model.dispose();
});

/** [n, E] = [n, W] @ visual.proj [W, E]. */
function project(x: Float32Array, rows: number, proj: { data: Float32Array; shape: number[] }): Float32Array {
  const [w, e] = proj.shape as [number, number];
  const out = new Float32Array(rows * e);
  for (let r = 0; r < rows; r++)
    for (let k = 0; k < w; k++) {
      const a = x[r * w + k]!;
      for (let j = 0; j < e; j++) out[r * e + j] += a * proj.data[k * e + j]!;
    }
  return out;
}

test("DAPM_replace(DPAM_layer = N) replaces the last N - 1 blocks; N outside 2..layers + 1 is refused", () => {
  assert.equal(dpamBlocksOf(model.config, 4), 3);
  assert.equal(dpamBlocksOf(model.config, 5), 4);
  assert.equal(dpamBlocksOf({ ...model.config, vision: { ...model.config.vision, layers: 24 } }, 20), 19);
  for (const bad of [1, 6, 20, 2.5]) assert.throws(() => dpamBlocksOf(model.config, bad), ShapeError);
});

test("bilinear positional-embedding resize equals the released first forward pass's", async () => {
  const ref = await readNpy(path.join(FIX, "test-80/debug-positional-embedding.npy"));
  const ours = interpolatePosEmbedBilinear(model.weights.get("visual.positional_embedding")!, 10);
  assert.deepEqual(ours.shape, ref.shape);
  assert.ok(maxAbsDiff(ours.data, ref.data) < 1e-6, `max diff ${maxAbsDiff(ours.data, ref.data)}`);
});

test("DPAM hooked features and image feature equal the released encode_image on its input", async () => {
  const input = await readNpy(path.join(FIX, "test-80/debug-input.npy"));
  const ref = await readNpy(path.join(FIX, "test-80/debug-patch-features.npy"));
  const dpam = { blocks: dpamBlocksOf(model.config, 4) };
  const out = await model.encodeImages(input.data, 1, { size: 80, layers: [1, 2, 3, 4], lnPost: true, dpam });
  const proj = model.weights.get("visual.proj")!;
  const per = 101 * 32;
  for (const l of [1, 2, 3, 4]) {
    const ours = project(out.hiddenStates.get(l)!, 101, proj);
    const d = maxAbsDiff(ours, ref.data.subarray((l - 1) * per, l * per));
    assert.ok(d < 1e-4, `layer ${l}: max diff ${d}`);
  }
  const d = maxAbsDiff(out.imageEmbeds, debug.image_features_unnormalised);
  assert.ok(d < 1e-4, `image feature: max diff ${d}`);
  // The plain tower differs (q-k stream, ln_post'd class token): the variant is not a no-op here.
  const plain = await model.encodeImages(input.data, 1, { size: 80, layers: [4], lnPost: true });
  assert.ok(maxAbsDiff(plain.imageEmbeds, debug.image_features_unnormalised) > 1e-2);
});

test("the DPAM feature source preprocesses as the released loader and names its variant in the cache key", async () => {
  const input = await readNpy(path.join(FIX, "test-80/debug-input.npy"));
  const ours = await model.preprocessFiles([path.join(DATA, debug.img_path)], 80, "square");
  assert.ok(maxAbsDiff(ours, input.data) < 1e-4, `input: max diff ${maxAbsDiff(ours, input.data)}`);
  const plain = clipFeatureSource(model, { size: 80, layers: [4] });
  const dpam = clipFeatureSource(model, { size: 80, layers: [4], dpam: { blocks: 3 } });
  const dpam2 = clipFeatureSource(model, { size: 80, layers: [4], dpam: { blocks: 2 } });
  assert.notEqual(plain.id, dpam.id);
  assert.notEqual(dpam.id, dpam2.id);
  const [f] = await dpam.extract([path.join(DATA, debug.img_path)]);
  assert.ok(maxAbsDiff(project(f!.pooled, 1, model.weights.get("visual.proj")!), debug.image_features_unnormalised) < 1e-4);
});
