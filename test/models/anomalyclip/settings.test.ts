/**
 * AnomalyCLIP's released depths (DPAM_layer 20, depth 9) are tied to ViT-L/14: on a shallower
 * backbone the CLI refuses them with the value to pass, and the experiments carry them over in
 * proportion (exactly the released values on ViT-L/14).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ClipModel } from "../../../src/clip/model.js";
import { demoArchConfig } from "../../../src/clip/demo-model.js";
import { InvalidArgumentError } from "../../../src/errors.js";
import { createMethod, methodDescriptor } from "../../../src/models/registry.js";
import { scaledAnomalyClipOptions } from "../../../src/models/anomalyclip/method.js";
import type { PromptLearnerClip } from "../../../src/models/coop/model.js";

const TINY = path.join(import.meta.dirname, "../../fixtures/clip-tiny");

test("the released depths carried over: ViT-L/14 keeps 20 and 9, ViT-B/16 gets 10 and 9, the tiny CLIP 3 and 2", () => {
  assert.deepEqual(scaledAnomalyClipOptions(demoArchConfig("ViT-L-14-336")), { dpamLayer: 20, depth: 9 });
  assert.deepEqual(scaledAnomalyClipOptions(demoArchConfig("ViT-B-16")), { dpamLayer: 10, depth: 9 });
  assert.deepEqual(scaledAnomalyClipOptions(demoArchConfig("tiny")), { dpamLayer: 3, depth: 2 });
  assert.equal(methodDescriptor("anomalyclip").scaledOptions, scaledAnomalyClipOptions);
});

test("on the 4-block tiny CLIP the released defaults are refused with the option to pass; the carried-over ones build the top-layer model", async () => {
  const model = await ClipModel.load(TINY);
  try {
    await assert.rejects(
      createMethod("anomalyclip", { backbone: model, size: 64, options: { depth: 2 } }),
      (e: unknown) =>
        e instanceof InvalidArgumentError &&
        /released dpamLayer 20 .*at most 5 .* --option dpamLayer=N \(the released proportion here: dpamLayer=3\)/.test(e.message),
    );
    await assert.rejects(
      createMethod("anomalyclip", { backbone: model, size: 64, options: { dpamLayer: 3 } }),
      (e: unknown) => e instanceof InvalidArgumentError && /released depth 9 .*at most 2 .* depth=2/.test(e.message),
    );
    const m = (await createMethod("anomalyclip", { backbone: model, size: 64, options: scaledAnomalyClipOptions(model.config) })) as PromptLearnerClip;
    try {
      assert.deepEqual([m.layers, m.config.dpamLayer, m.config.deepTextPrompts], [[4], 3, { depth: 1, length: 4 }]);
    } finally {
      m.dispose();
    }
  } finally {
    await model.dispose();
  }
});
