import { test } from "node:test";
import assert from "node:assert/strict";
import { tfReady } from "../../../src/tf.js";
import { ClipAc } from "../../../src/models/clip-ac/model.js";
import { bilinearAlignCorners, cosine, matVec, referenceFeatures, softmax2, tinyModel, tinyReference } from "./tiny.js";
import { assertClose } from "../../clip-model/reference.js";

test("CLIP-AC: image score from the image embedding and map from ln_post + proj patch tokens vs the binary prompts, against OpenAI CLIP's outputs", async () => {
  await tfReady();
  const clip = await tinyModel();
  const ref = tinyReference();
  // The reference's first two prompts are exactly SimCLIP's binary prompts for "bottle".
  assert.equal(ref.text[0]!.text, "a photo of a bottle without defect.");
  const t0 = ref.text[0]!.text_embeds, t1 = ref.text[1]!.text_embeds;
  const proj = clip.weights.get("visual.proj")!.data;
  const m = await ClipAc.create(clip, { size: 64, layers: [2, 4] });
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
      bilinearAlignCorners(d, 8, 64).forEach((z, p) => { expected[p]! += 1 / (1 + Math.exp(-z)); });
    }
    assertClose(out.maps[k]!, expected, `map of image ${img}`, 2e-4);
  });
  m.dispose();
});
