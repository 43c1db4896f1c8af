import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { tfReady } from "../../../src/tf.js";
import { SimClip } from "../../../src/models/simclip/model.js";
import { loadSimClip, saveSimClip, createSimClipMethod } from "../../../src/models/simclip/factory.js";
import { CheckpointMismatchError, loadCheckpoint } from "../../../src/models/common/checkpoint.js";
import { FileFormatError, MissingFileError } from "../../../src/errors.js";
import { variableKey } from "../../../src/models/common/init.js";
import { TINY, fakeBackbone, fakeFeatures } from "./fake-backbone.js";

async function tmp(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), "simclip-ckpt-"));
}

test("checkpoint round trip is bit-exact and scores identically", async () => {
  await tfReady();
  const dir = await tmp();
  try {
    const bb = fakeBackbone();
    const a = await SimClip.create(bb, { layers: [1, 4], size: 16, sigma: 2 }, 5);
    await saveSimClip(a, dir);
    const b = await loadSimClip(bb, dir);
    assert.deepEqual(b.config, a.config);
    const av = new Map(a.trainableVariables().map((v) => [variableKey(v), v.dataSync()]));
    for (const v of b.trainableVariables()) {
      const want = av.get(variableKey(v))!;
      const got = v.dataSync();
      assert.equal(got.length, want.length);
      assert.ok(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength)), variableKey(v));
    }
    const batch = { features: [fakeFeatures("q", 4, [1, 4])], categories: ["pcb"] };
    const [oa, ob] = [await a.score(batch), await b.score(batch)];
    assert.deepEqual([...ob.maps[0]!], [...oa.maps[0]!]);
    assert.deepEqual([...ob.scores], [...oa.scores]);
    a.dispose();
    b.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a checkpoint for another backbone, other dims, size or layers is a CheckpointMismatchError", async () => {
  await tfReady();
  const dir = await tmp();
  try {
    const a = await SimClip.create(fakeBackbone(), { layers: [1, 4], size: 16 });
    await saveSimClip(a, dir);
    a.dispose();
    await assert.rejects(
      loadSimClip(fakeBackbone(TINY, "0".repeat(64)), dir),
      (e: unknown) => e instanceof CheckpointMismatchError && /fingerprint/.test(e.message),
    );
    // Same fingerprint but different dimensions (a corrupted pairing).
    await assert.rejects(
      loadSimClip(fakeBackbone({ ...TINY, embedDim: 6 }), dir),
      (e: unknown) => e instanceof CheckpointMismatchError && /embedDim/.test(e.message),
    );
    const ckpt = await loadCheckpoint(dir);
    await assert.rejects(createSimClipMethod({ backbone: fakeBackbone(), checkpoint: ckpt, size: 32 }), CheckpointMismatchError);
    await assert.rejects(createSimClipMethod({ backbone: fakeBackbone(), checkpoint: ckpt, layers: [2] }), CheckpointMismatchError);
    const other = { ...ckpt, state: { ...ckpt.state, method: "april-gan" } };
    await assert.rejects(createSimClipMethod({ backbone: fakeBackbone(), checkpoint: other }), CheckpointMismatchError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("missing or malformed checkpoint directories are typed errors naming the file", async () => {
  const dir = await tmp();
  try {
    await assert.rejects(loadCheckpoint(dir), (e: unknown) => e instanceof MissingFileError && e.path.endsWith("config.json"));
    await writeFile(path.join(dir, "config.json"), "{not json");
    await assert.rejects(loadCheckpoint(dir), FileFormatError);
    await writeFile(path.join(dir, "config.json"), JSON.stringify({ format: "something-else" }));
    await assert.rejects(loadCheckpoint(dir), FileFormatError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
