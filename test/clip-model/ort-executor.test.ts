import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { OnnxGraphBuilder } from "../../src/clip/onnx/graph-builder.js";
import { createOrtSession, ExecutionProviderUnavailableError, ort } from "../../src/clip/ort-executor.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { ClipModel } from "../../src/clip/model.js";
import { TINY_DIR } from "./reference.js";

function tinyGraph(): Uint8Array {
  const b = new OnnxGraphBuilder("t");
  const x = b.input("x", "float32", ["batch", 2]);
  const w = b.constant("w", () => ({ data: Float32Array.of(1, 2, 3, 4), shape: [2, 2] }));
  b.output(b.softmax(b.matmul(x, w)), "y", ["batch", 2]);
  return b.toBytes();
}

test("a built graph runs with a dynamic batch: softmax([1, 1] @ [[1, 2], [3, 4]]) by hand", async () => {
  const s = await createOrtSession(tinyGraph(), { threads: 1 });
  const y = await s.run({ x: new ort.Tensor("float32", Float32Array.of(1, 1, 0, 0, 2, 0), [3, 2]) });
  // rows: [4, 6] -> [1/(1+e^2), e^2/(1+e^2)]; [0, 0] -> [0.5, 0.5]; [2, 4] -> same as row 1.
  const p = 1 / (1 + Math.exp(2));
  const want = [p, 1 - p, 0.5, 0.5, p, 1 - p];
  (y.y!.data as Float32Array).forEach((v, i) => {
    assert.ok(Math.abs(v - want[i]!) < 1e-6);
  });
  await s.release();
});

test("bad session options are typed errors", async () => {
  await assert.rejects(createOrtSession(tinyGraph(), { threads: 0 }), InvalidArgumentError);
  await assert.rejects(createOrtSession(tinyGraph(), { executionProvider: "tpu" as "cpu" }), InvalidArgumentError);
});

const binDir = dirname(createRequire(import.meta.url).resolve(`onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`));
const hasCuda = existsSync(join(binDir, "libonnxruntime_providers_cuda.so"));

test("asking for CUDA on the CPU build says how to get the CUDA build", { skip: hasCuda && "CUDA provider installed" }, async () => {
  await assert.rejects(createOrtSession(tinyGraph(), { executionProvider: "cuda" }), (e: unknown) => {
    assert.ok(e instanceof ExecutionProviderUnavailableError);
    assert.match(e.message, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
    return true;
  });
  // ClipModel.load fails at once, not at the first image.
  await assert.rejects(ClipModel.load(TINY_DIR, { executionProvider: "cuda" }), ExecutionProviderUnavailableError);
});
