import { test } from "node:test";
import assert from "node:assert/strict";
import { tfReady } from "../../../src/tf.js";
import { promptLearningComplexity, textTowerCost, visionTowerCost } from "../../../src/models/complexity.js";
import { tinyModel } from "./tiny.js";

/** Multiply-accumulates of one pre-LN transformer block, by hand: q, k, v, out projections; Q K^T and A V; the 4x MLP. */
const block = (t: number, w: number) => 4 * t * w * w + 2 * t * t * w + 2 * t * w * 4 * w;

test("CLIP towers' multiply-accumulates counted from the architecture equal the hand formula (clip-tiny)", async () => {
  const clip = await tinyModel();
  // Vision at 64 px, patch 8: 64 patches of 3*8*8 values embedded to 128, 65 tokens, 4 blocks, pooled @ proj [128, 32].
  const v = visionTowerCost(clip.weights, clip.config, 64);
  assert.equal(v.macs, 64 * 192 * 128 + 4 * block(65, 128) + 128 * 32);
  // At 128 px the grid is 16 x 16: 257 tokens (positional embeddings interpolated).
  assert.equal(visionTowerCost(clip.weights, clip.config, 128).macs, 256 * 192 * 128 + 4 * block(257, 128) + 128 * 32);
  // Text: 3 prompts of 77 tokens, width 32, 2 blocks; EOT pooling as a one-hot product [1, 77] x [77, 32]; projection [32, 32].
  assert.equal(textTowerCost(clip.weights, clip.config, 3).macs, 3 * (2 * block(77, 32) + 77 * 32 + 32 * 32));
});

test("Table 2 rows: parameters counted from the modules, FLOPs from the counted towers plus the heads", async () => {
  await tfReady();
  const clip = await tinyModel();
  const rows = await promptLearningComplexity(clip, { size: 64, layers: [2, 4] });
  assert.deepEqual(
    rows.map((r) => r.method),
    ["CoOp", "CoCoOp", "IPT"],
  );
  let backbone = 0;
  for (const t of clip.weights.values()) backbone += t.shape.reduce((a, b) => a * b, 1);
  const adapters = 2 * (128 * 32 + 32);
  const [coop, cocoop, ipt] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
  // IPT: token weighting 77 + 1, P_s 8, MLP 8x256 + 256 and 256x32 + 32, mixing 2 + 1.
  assert.equal(ipt.params, backbone + adapters + 78 + 8 + 8 * 256 + 256 + 256 * 32 + 32 + 3);
  // CoOp: 16 context vectors of the text width 32; CoCoOp: 4 of them and the meta-net 32 -> 2 -> 32.
  assert.equal(coop.params, backbone + adapters + 16 * 32);
  assert.equal(cocoop.params, backbone + adapters + 4 * 32 + (32 * 2 + 2) + (2 * 32 + 32));
  assert.deepEqual(Object.keys(cocoop.moduleParams).sort(), ["adapters", "meta_net", "prompt_context"]);
  const vision = 64 * 192 * 128 + 4 * block(65, 128) + 128 * 32;
  const text2 = 2 * (2 * block(77, 32) + 77 * 32 + 32 * 32);
  const heads = 2 * 64 * (128 * 32 + 2 * 32) + 2 * 32 * 32 + 128 * 32;
  assert.ok(Math.abs(coop.gmacs * 1e9 - (vision + text2 + heads)) < 1);
  assert.ok(Math.abs(cocoop.gmacs * 1e9 - (vision + text2 + heads + 32 * 2 + 2 * 32)) < 1);
  assert.ok(Math.abs(ipt.gmacs * 1e9 - (vision + text2 + heads + 2 * 77 * 32 + 8 * 256 + 256 * 32)) < 1);
  // Training: IPT refines the frozen tower's output, so its prompts' text features are computed once.
  assert.ok(
    ipt.gmacsTrainStep < coop.gmacsTrainStep && Math.abs((coop.gmacsTrainStep - ipt.gmacsTrainStep) * 1e9 - (text2 - (2 * 77 * 32 + 8 * 256 + 256 * 32))) < 1,
  );
});
