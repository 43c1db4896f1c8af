import { test } from "node:test";
import assert from "node:assert/strict";
import { tfReady } from "../../../src/tf.js";
import { ClipAc, clipAcPipeline } from "../../../src/models/clip-ac/model.js";
import { gaussianFilter } from "../../../src/models/common/gaussian.js";
import { IMAGENET_TEMPLATES, clipAcPrompts } from "../../../src/models/clip-ac/prompts.js";
import { bilinearAlignCorners, cosine, matVec, referenceFeatures, softmax2, tinyModel, tinyReference } from "./tiny.js";
import { assertClose } from "../../clip-model/reference.js";

test("CLIP-AC with SimCLIP's prompts: image score from the image embedding and map from ln_post + proj patch tokens vs the binary prompts, against OpenAI CLIP's outputs", async () => {
  await tfReady();
  const clip = await tinyModel();
  const ref = tinyReference();
  // The reference's first two prompts are exactly SimCLIP's binary prompts for "bottle".
  assert.equal(ref.text[0]!.text, "a photo of a bottle without defect.");
  const t0 = ref.text[0]!.text_embeds,
    t1 = ref.text[1]!.text_embeds;
  const proj = clip.weights.get("visual.proj")!.data;
  const m = await ClipAc.create(clip, { size: 64, layers: [2, 4], prompts: "simclip", ...clipAcPipeline("april-gan") });
  const idx = [0, 2, 4];
  const out = await m.score({ features: idx.map(referenceFeatures), categories: idx.map(() => "bottle") });
  idx.forEach((img, k) => {
    const v = ref.vision[ref.images[img]!]!;
    const e = v.image_embeds;
    assert.ok(Math.abs(out.scores[k]! - softmax2(100 * cosine(e, t0), 100 * cosine(e, t1))) < 1e-4, `score of image ${img}`);
    const expected = new Array<number>(64 * 64).fill(0);
    for (const layer of [2, 4]) {
      const d = v.patch_tokens_ln_post[layer - 1]!.slice(1).map((tok) => {
        const f = matVec(tok, proj, 32);
        return 100 * (cosine(f, t1) - cosine(f, t0));
      });
      bilinearAlignCorners(d, 8, 64).forEach((z, p) => {
        expected[p]! += 1 / (1 + Math.exp(-z));
      });
    }
    assertClose(out.maps[k]!, expected, `map of image ${img}`, 2e-4);
  });
  m.dispose();
});

test("CLIP-AC's default prompts: the 80 ImageNet templates x 'normal / anomalous [cls]', embeddings normalised, averaged per state, normalised", async () => {
  await tfReady();
  const clip = await tinyModel();
  assert.equal(IMAGENET_TEMPLATES.length, 80);
  assert.equal(new Set(IMAGENET_TEMPLATES).size, 80);
  for (const t of IMAGENET_TEMPLATES) assert.equal(t.split("{}").length, 2, t);
  const set = clipAcPrompts("imagenet", "metal_nut");
  assert.equal(set.normal[39], "a photo of a normal metal_nut.");
  assert.equal(set.anomalous[73], "itap of a anomalous metal_nut.");
  const unit = (v: ArrayLike<number>) => {
    const n = Math.hypot(...Array.from(v));
    return Array.from(v, (x) => x / n);
  };
  const want = await Promise.all(
    [set.normal, set.anomalous].map(async (texts) => {
      const out = await clip.encodeText(texts);
      const E = out.textEmbeds.length / texts.length;
      const mean = new Array<number>(E).fill(0);
      for (let i = 0; i < texts.length; i++) {
        unit(out.textEmbeds.subarray(i * E, (i + 1) * E)).forEach((x, k) => {
          mean[k]! += x;
        });
      }
      return unit(mean);
    }),
  );
  const m = await ClipAc.create(clip, { size: 64, layers: [4], ...clipAcPipeline("april-gan") });
  assert.equal(m.config.prompts, "imagenet");
  await m.prepare(["metal_nut"]);
  const out = await m.score({ features: [referenceFeatures(0)], categories: ["metal_nut"] });
  const v = tinyReference().vision[tinyReference().images[0]!]!;
  const e = v.image_embeds;
  assert.ok(Math.abs(out.scores[0]! - softmax2(100 * cosine(e, want[0]!), 100 * cosine(e, want[1]!))) < 1e-4, `score ${out.scores[0]}`);
  m.dispose();
});

/** torch.nn.functional.interpolate(mode="bilinear", align_corners=False) of one g x g map to S x S. */
function bilinearHalfPixel(map: number[], g: number, S: number): number[] {
  const out = new Array<number>(S * S);
  const src = (i: number) => Math.max(0, ((i + 0.5) * g) / S - 0.5);
  for (let Y = 0; Y < S; Y++) {
    const sy = src(Y),
      y0 = Math.min(Math.floor(sy), g - 1),
      y1 = Math.min(y0 + 1, g - 1),
      wy = sy - y0;
    for (let X = 0; X < S; X++) {
      const sx = src(X),
        x0 = Math.min(Math.floor(sx), g - 1),
        x1 = Math.min(x0 + 1, g - 1),
        wx = sx - x0;
      const at = (y: number, x: number) => map[y * g + x]!;
      out[Y * S + X] = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
    }
  }
  return out;
}

test("CLIP-AC's default pipeline is AnomalyCLIP's test pipeline: cos / 0.07, softmax on the grid, bilinear (align_corners false), Gaussian sigma 4", async () => {
  await tfReady();
  const clip = await tinyModel();
  const ref = tinyReference();
  const t0 = ref.text[0]!.text_embeds,
    t1 = ref.text[1]!.text_embeds;
  const proj = clip.weights.get("visual.proj")!.data;
  const m = await ClipAc.create(clip, { size: 64, layers: [2, 4], prompts: "simclip" });
  assert.deepEqual([m.config.logitScale, m.config.sigma, m.config.mapOrder], [1 / 0.07, 4, "grid-softmax"]);
  const out = await m.score({ features: [referenceFeatures(2)], categories: ["bottle"] });
  const v = ref.vision[ref.images[2]!]!;
  assert.ok(Math.abs(out.scores[0]! - softmax2(cosine(v.image_embeds, t0) / 0.07, cosine(v.image_embeds, t1) / 0.07)) < 1e-4, "image score");
  const summed = new Float32Array(64 * 64);
  for (const layer of [2, 4]) {
    const p = v.patch_tokens_ln_post[layer - 1]!.slice(1).map((tok) => {
      const f = matVec(tok, proj, 32);
      return softmax2(cosine(f, t0) / 0.07, cosine(f, t1) / 0.07);
    });
    bilinearHalfPixel(p, 8, 64).forEach((z, i) => {
      summed[i]! += z;
    });
  }
  assertClose(out.maps[0]!, gaussianFilter(summed, 64, 64, 4), "map", 2e-4);
  m.dispose();
});
