import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import * as ort from "onnxruntime-node";
import { tfReady } from "../../../src/tf.js";
import { ClipModel } from "../../../src/clip/model.js";
import { writeDemoModel } from "../../../src/clip/demo-model.js";
import { preprocessSquare } from "../../../src/clip/preprocess.js";
import { SimClip } from "../../../src/models/simclip/model.js";
import { exportSimClipOnnx } from "../../../src/models/simclip/export-onnx.js";
import { predictImages } from "../../../src/models/common/predict.js";

test("the exported ONNX file (backbone + heads) reproduces predictImages' maps and scores on plain onnxruntime", async () => {
  await tfReady();
  const dir = await mkdtemp(path.join(tmpdir(), "simclip-onnx-"));
  try {
    await writeDemoModel(path.join(dir, "tiny"), { arch: "tiny", seed: 3 });
    const images = [0, 1].map((k) => path.join(dir, `img${k}.png`));
    for (const [k, file] of images.entries()) {
      const px = Buffer.alloc(50 * 40 * 3);
      for (let i = 0; i < px.length; i++) px[i] = (i * (7 + k) + ((i / 150) | 0) * 13) % 256;
      await sharp(px, { raw: { width: 50, height: 40, channels: 3 } })
        .png()
        .toFile(file);
    }
    const model = await ClipModel.load(path.join(dir, "tiny"));
    for (const cfg of [
      { mhva: true, sigma: 7 },
      { mhva: false, sigma: 0, imagePrompts: "refined" as const },
    ]) {
      const m = await SimClip.create(model, { size: 64, layers: [2, 4], ...cfg }, 7);
      const want = await predictImages(m, model, images, "metal_nut");
      const file = path.join(dir, "simclip.onnx");
      await exportSimClipOnnx(m, file, { category: "metal_nut" });
      const session = await ort.InferenceSession.create(file);
      const pixels = new Float32Array(2 * 3 * 64 * 64);
      for (const [k, f] of images.entries()) pixels.set(await preprocessSquare(f, 64, model.config.imageMean, model.config.imageStd), k * 3 * 64 * 64);
      const out = await session.run({ pixel_values: new ort.Tensor("float32", pixels, [2, 3, 64, 64]) });
      assert.deepEqual(out.anomaly_map!.dims, [2, 64, 64]);
      const map = out.anomaly_map!.data as Float32Array;
      const score = out.score!.data as Float32Array;
      for (let k = 0; k < 2; k++) {
        let err = 0;
        for (let i = 0; i < 64 * 64; i++) err = Math.max(err, Math.abs(map[k * 4096 + i]! - want[k]!.map[i]!));
        assert.ok(err < 2e-4, `${JSON.stringify(cfg)} image ${k}: map max error ${err}`);
        assert.ok(Math.abs(score[k]! - want[k]!.score) < 1e-5, `score ${score[k]} vs ${want[k]!.score}`);
      }
      await session.release();
      m.dispose();
    }
    await model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
