/**
 * PatchCore's own backbone against torchvision (fixtures by test/fixtures/wide-resnet/make_fixtures.py):
 * the real wide_resnet50_2 shape with simclip's counter-based random weights (rebuilt by the script
 * with numpy and run by torchvision itself), a reduced-width torchvision ResNet read from a fp16 .pth,
 * anomalib's pre-processing and patch embedding.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { readSafetensors } from "../../../src/clip/safetensors.js";
import { createOrtSession, ort } from "../../../src/clip/ort-executor.js";
import { loadResNetWeights, randomWideResNetWeights, wideResNetShapes, counterUniforms } from "../../../src/models/patchcore/resnet-weights.js";
import { buildResNetGraph, EMBEDDING_OUTPUT, rawLayerOutput, resnetFlops, resnetSpec, stageGrids } from "../../../src/models/patchcore/wide-resnet.js";
import { preprocessImagenet } from "../../../src/models/patchcore/imagenet-preprocess.js";

const FIX = path.join(import.meta.dirname, "../../fixtures/wide-resnet");
const ROOT = path.join(import.meta.dirname, "../../..");
const meta = JSON.parse(readFileSync(path.join(FIX, "reference.json"), "utf8")) as {
  size: number;
  seed: number;
  images: string[];
  small: { file: string };
};
const ref = await readSafetensors(path.join(FIX, "reference.safetensors"));
const S = meta.size;

function maxAbsDiff(a: Float32Array, b: Float32Array, what: string): number {
  assert.equal(a.length, b.length, `${what}: ${a.length} values, reference ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function run(weights: Parameters<typeof buildResNetGraph>[0], layers: number[]): Promise<Record<string, Float32Array>> {
  const g = buildResNetGraph(weights, { size: S, layers, rawLayers: true });
  const session = await createOrtSession(g.bytes, { threads: 2 });
  try {
    const pixels = ref.get("pixels")!;
    const out = await session.run({ pixel_values: new ort.Tensor("float32", pixels.data, pixels.shape) });
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

test("anomalib's pre-processing (PIL RGB, torch antialiased bilinear resize of the float image, ImageNet normalisation) equals torch's", async () => {
  const want = ref.get("pixels")!.data;
  const per = 3 * S * S;
  for (const [i, rel] of meta.images.entries()) {
    const got = await preprocessImagenet(path.join(FIX, rel), S);
    const d = maxAbsDiff(got, want.subarray(i * per, (i + 1) * per), rel);
    assert.ok(d < 2e-5, `${rel}: max |diff| ${d}`);
  }
});

test("wide_resnet50_2 (real shape, random weights, BatchNorm with non-trivial statistics folded into the convs) equals torchvision's within 1e-4", async () => {
  const weights = randomWideResNetWeights({ seed: meta.seed, batchNorm: "random" });
  const out = await run(weights, [2, 3]);
  for (const [name, key] of [
    [rawLayerOutput(2), "wrn.layer2"],
    [rawLayerOutput(3), "wrn.layer3"],
    [EMBEDDING_OUTPUT, "wrn.embedding"],
  ] as const) {
    const want = ref.get(key)!;
    const d = maxAbsDiff(out[name]!, want.data, key);
    const scale = want.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    process.stderr.write(`${key} ${JSON.stringify(want.shape)}: max |diff| ${d.toExponential(2)} (values up to ${scale.toFixed(2)})\n`);
    assert.ok(d < 1e-4, `${key}: max |diff| ${d}`);
  }
});

test("a reduced-width torchvision ResNet read from a fp16 torch.save state dict (int64 num_batches_tracked) equals torchvision's", async () => {
  const loaded = await loadResNetWeights(path.join(FIX, meta.small.file));
  assert.equal(loaded.random, false);
  assert.match(loaded.sha256, /^[0-9a-f]{64}$/);
  assert.ok(![...loaded.weights.keys()].some((k) => k.endsWith("num_batches_tracked")));
  const spec = resnetSpec(loaded.weights, 3, "fixture");
  // width_per_group 8: Bottleneck widths 8, 16, 32 (from the shapes), outputs 256, 512, 1024.
  assert.deepEqual(
    spec.stages.map((b) => [b.length, b[0]!.convs[1]!.outChannels, b.at(-1)!.convs[2]!.outChannels]),
    [
      [3, 8, 256],
      [4, 16, 512],
      [6, 32, 1024],
    ],
  );
  assert.deepEqual(stageGrids(spec, S), [18, 9, 5]);
  const out = await run(loaded.weights, [2, 3]);
  for (const s of [2, 3]) {
    const d = maxAbsDiff(out[rawLayerOutput(s)]!, ref.get(`small.layer${s}`)!.data, `small.layer${s}`);
    assert.ok(d < 1e-4, `layer${s}: max |diff| ${d}`);
  }
});

test("the counter-based generator: same seed same numbers, another seed others; torchvision's initial BatchNorm by default; shapes of wide_resnet50_2", () => {
  assert.deepEqual(counterUniforms("conv1.weight", 0, 5), counterUniforms("conv1.weight", 0, 5));
  assert.notDeepEqual(counterUniforms("conv1.weight", 0, 5), counterUniforms("conv1.weight", 1, 5));
  assert.notDeepEqual(counterUniforms("conv1.weight", 0, 5), counterUniforms("bn1.weight", 0, 5));
  const shapes = wideResNetShapes(3);
  const params = [...shapes.values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  // torchvision wide_resnet50_2's float tensors without layer4 and fc (sum(v.numel()) of its state dict):
  // 24,862,528 parameters + 39,552 BatchNorm running statistics.
  assert.equal(shapes.get("layer3.5.conv2.weight")!.join(","), "512,512,3,3");
  assert.equal(shapes.get("layer2.0.downsample.0.weight")!.join(","), "512,256,1,1");
  assert.equal(params, 24_902_080);
  const w = randomWideResNetWeights({ seed: 0, maxStage: 1 });
  assert.ok(w.get("layer1.0.bn1.weight")!.data.every((v) => v === 1) && w.get("layer1.0.bn1.running_mean")!.data.every((v) => v === 0));
  const c = w.get("layer1.0.conv2.weight")!.data;
  const std = Math.sqrt(c.reduce((a, v) => a + v * v, 0) / c.length);
  assert.ok(Math.abs(std - Math.sqrt(2 / (128 * 9))) < 0.002, `kaiming fan_out std ${std}`);
});

test("`simclip demo-model --arch wide_resnet50_2` writes the generator's numbers, flagged random in the safetensors metadata", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "simclip-wrn-"));
  try {
    const said = execFileSync(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "src/cli/main.ts"), "demo-model", "--arch", "wide_resnet50_2", "--seed", "3", "--out", dir],
      { cwd: ROOT, encoding: "utf8" },
    );
    assert.match(said, /randomly initialised wide_resnet50_2 up to layer3 \(seed 3, not ImageNet-pretrained/);
    const loaded = await loadResNetWeights(dir);
    assert.equal(loaded.random, true);
    const want = randomWideResNetWeights({ seed: 3 });
    assert.deepEqual([...loaded.weights.keys()], [...want.keys()]);
    assert.deepEqual(loaded.weights.get("layer3.2.conv1.weight")!.data, want.get("layer3.2.conv1.weight")!.data);
    const spec = resnetSpec(loaded.weights, 3, dir);
    // 256 px (anomalib's default): layer2 32 x 32, layer3 16 x 16; ~24 GFLOP per image up to layer3.
    assert.deepEqual(stageGrids(spec, 256), [64, 32, 16]);
    assert.ok(Math.abs(resnetFlops(spec, 256) / 1e9 - 24.0) < 0.1);
    assert.throws(() => resnetSpec(loaded.weights, 4, dir), /no blocks of layer4/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
