/**
 * PatchCore on its own WideResNet-50-2 against anomalib (fixtures: test/fixtures/wide-resnet): the map
 * post-processing, the image score and the whole feature path (pre-processing, backbone, embedding)
 * through the feature cache; anomalib's coreset rule; weight resolution and the registry option.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { readSafetensors, writeSafetensors } from "../../../src/clip/safetensors.js";
import { FeatureCache } from "../../../src/cache/index.js";
import { createMethod, methodOptionSchema } from "../../../src/models/registry.js";
import { predictImages } from "../../../src/models/common/predict.js";
import { PatchCore } from "../../../src/models/patchcore/model.js";
import { greedyCoreset } from "../../../src/models/patchcore/coreset.js";
import {
  anomalibAnomalyMap,
  anomalibCoreset,
  anomalibCoresetSize,
  johnsonLindenstraussMinDim,
  nearestIndices,
  sparseRandomProjection,
} from "../../../src/models/patchcore/anomalib.js";
import { randomWideResNetWeights, RANDOM_WEIGHTS_METADATA_KEY } from "../../../src/models/patchcore/resnet-weights.js";
import { WRN_EMBEDDING_SECTION } from "../../../src/models/patchcore/wide-resnet-source.js";
import { PatchCoreWideResNet, PATCHCORE_WEIGHTS_ENV, resolvePatchCoreWeights } from "../../../src/models/patchcore/wide-resnet-method.js";
import { createRng } from "../../../src/data/random.js";

const FIX = path.join(import.meta.dirname, "../../fixtures/wide-resnet");
const meta = JSON.parse(readFileSync(path.join(FIX, "reference.json"), "utf8")) as {
  size: number;
  images: string[];
  patchcore: { score: number; num_neighbors: number; sigma: number };
  "jl_min_dim_eps_0.9": Record<string, number>;
};
const ref = await readSafetensors(path.join(FIX, "reference.safetensors"));
const S = meta.size;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const features = (rows: Float32Array, grid: number, width: number) => ({
  patchTokens: new Map([[WRN_EMBEDDING_SECTION, rows]]),
  pooled: new Float32Array(width),
  grid,
  width,
});

test("anomalib's map post-processing: nearest resize (torch's legacy index rule) then GaussianBlur2d sigma 4 with torch reflect padding", () => {
  const got = anomalibAnomalyMap(ref.get("map7.patch_scores")!.data, 7, 50, 4);
  const d = maxAbsDiff(got, ref.get("map7.map50")!.data);
  assert.ok(d < 1e-5, `max |diff| ${d}`);
  // torch: floor(dst * float32(in / out)); exact doubling uses dst >> 1.
  assert.deepEqual([...nearestIndices(7, 50)].slice(0, 16), [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2]);
  assert.deepEqual([...nearestIndices(3, 6)], [0, 0, 1, 1, 2, 2]);
});

test("PatchCore's image score (num_neighbors 9 re-weighting) and map equal anomalib's PatchcoreModel on the same embeddings", async () => {
  const emb = ref.get("wrn.embedding")!;
  const [, P, D] = emb.shape as [number, number, number];
  const grid = Math.sqrt(P);
  const pc = new PatchCoreWideResNet({ kind: "random", seed: 0 }, { size: S, coresetRatio: 1 });
  assert.equal(pc.source.grid, grid);
  assert.equal(pc.source.width, D);
  await pc.setMemory("x", [features(emb.data.slice(0, P * D), grid, D)]);
  const out = await pc.score({ features: [features(emb.data.slice(P * D), grid, D)], categories: ["x"] });
  assert.equal(out.size, S);
  // Both sides compute distances as sqrt(|q|² + |m|² - 2 q.m) in float32: ~1e-5 of cancellation each.
  const want = meta.patchcore.score;
  assert.ok(Math.abs(out.scores[0]! - want) < 1e-4, `score ${out.scores[0]} vs anomalib ${want}`);
  const d = maxAbsDiff(out.maps[0]!, ref.get("patchcore.map")!.data);
  assert.ok(d < 1e-4, `map max |diff| ${d}`);
  await assert.rejects(pc.score({ features: [features(new Float32Array(16 * 8), 4, 8)], categories: ["x"] }), /reads its own features/);
  pc.dispose();
});

test("the whole feature path (anomalib pre-processing, the backbone, the embedding) through the feature cache equals torchvision + anomalib", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "simclip-pcwrn-"));
  try {
    // The fixture's weights (non-trivial BatchNorm) as a file, so the source reads them like real ones.
    const file = path.join(dir, "wrn.safetensors");
    await writeSafetensors(file, randomWideResNetWeights({ seed: 0, batchNorm: "random" }), {
      [RANDOM_WEIGHTS_METADATA_KEY]: JSON.stringify({ random: true }),
    });
    const prev = process.env[PATCHCORE_WEIGHTS_ENV];
    process.env[PATCHCORE_WEIGHTS_ENV] = file;
    let pc: PatchCoreWideResNet;
    try {
      pc = (await createMethod("patchcore", { backbone: {} as never, size: S })) as PatchCoreWideResNet;
    } finally {
      if (prev === undefined) delete process.env[PATCHCORE_WEIGHTS_ENV];
      else process.env[PATCHCORE_WEIGHTS_ENV] = prev;
    }
    assert.ok(pc instanceof PatchCoreWideResNet);
    assert.equal(pc.random, true, "the file's metadata marks it random");
    assert.match(pc.source.description!, /RANDOM/);
    assert.deepEqual((pc.state().config as { weights: unknown }).weights, { file, sha256: (pc.weights as { sha256: string }).sha256, random: true });
    const cache = await FeatureCache.open(path.join(dir, "cache"), pc.featureSource());
    assert.match(cache.source.id, /^model=wide_resnet50_2:sha256=[0-9a-f]{64};preprocess=anomalib-.*;size=72;layers=2,3$/);
    const emb = ref.get("wrn.embedding")!;
    const per = emb.shape[1]! * emb.shape[2]!;
    for (const [i, rel] of meta.images.entries()) {
      const f = await cache.get(path.join(FIX, rel));
      // The cache stores fp16: relative 2^-11 of values up to ~2.
      const d = maxAbsDiff(f.patchTokens.get(WRN_EMBEDDING_SECTION)!, emb.data.subarray(i * per, (i + 1) * per));
      assert.ok(d < 2e-3, `${rel}: max |diff| ${d} through the fp16 cache`);
      const direct = (await pc.source.extract([path.join(FIX, rel)]))[0]!;
      const dd = maxAbsDiff(direct.patchTokens.get(WRN_EMBEDDING_SECTION)!, emb.data.subarray(i * per, (i + 1) * per));
      assert.ok(dd < 1e-4, `${rel}: max |diff| ${dd} before the cache`);
    }
    pc.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("anomalib's coreset: int(n * 0.1) rows, farthest-first on a very sparse Johnson-Lindenstrauss projection, start point not kept", () => {
  for (const [n, want] of Object.entries(meta["jl_min_dim_eps_0.9"])) assert.equal(johnsonLindenstraussMinDim(Number(n), 0.9), want, `n = ${n}`);
  const n = 400,
    d = 256;
  const r = createRng("coreset-test");
  const x = Float32Array.from({ length: n * d }, () => r.normal());
  const { out, k } = sparseRandomProjection(x, n, d, 0);
  assert.equal(k, johnsonLindenstraussMinDim(n));
  // Squared distances are preserved on average (E|Rx|^2 = |x|^2 for this matrix).
  let ratio = 0;
  for (let i = 0; i < 50; i++) {
    let a = 0,
      b = 0;
    for (let j = 0; j < d; j++) a += (x[i * d + j]! - x[(i + 1) * d + j]!) ** 2;
    for (let j = 0; j < k; j++) b += (out[i * k + j]! - out[(i + 1) * k + j]!) ** 2;
    ratio += b / a / 50;
  }
  assert.ok(Math.abs(ratio - 1) < 0.1, `mean squared-distance ratio ${ratio}`);
  assert.equal(anomalibCoresetSize(n, 0.1), 40);
  assert.equal(anomalibCoresetSize(5, 0.1), 1);
  const idx = anomalibCoreset(x, n, d, 0.1, 0);
  assert.equal(idx.length, 40);
  assert.equal(new Set(idx).size, 40);
  const start = createRng("patchcore-coreset-start", 0).int(n);
  assert.ok(!idx.includes(start));
  assert.deepEqual(idx, greedyCoreset(out, n, k, 41, start).slice(1));
  assert.deepEqual(anomalibCoreset(x, 7, d, 1, 0), [0, 1, 2, 3, 4, 5, 6]);
});

test("weights: $SIMCLIP_PATCHCORE_WEIGHTS, else torch's hub cache, else random only beside a random demo CLIP; the registry's backbone option", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "simclip-pcw-"));
  try {
    const env = { TORCH_HOME: path.join(dir, "torch") };
    await assert.rejects(
      resolvePatchCoreWeights({ randomAllowed: false, env }),
      /cannot ship: set SIMCLIP_PATCHCORE_WEIGHTS to torchvision's wide_resnet50_2-95faca4d\.pth.*--option backbone=clip/,
    );
    assert.deepEqual(await resolvePatchCoreWeights({ randomAllowed: true, env }), { kind: "random", seed: 0 });
    assert.deepEqual(await resolvePatchCoreWeights({ randomAllowed: false, env: { ...env, [PATCHCORE_WEIGHTS_ENV]: "random" } }), { kind: "random", seed: 0 });
    const hub = path.join(dir, "torch", "hub", "checkpoints");
    const { mkdir, copyFile } = await import("node:fs/promises");
    await mkdir(hub, { recursive: true });
    await copyFile(path.join(FIX, "resnet_w8_fp16.pth"), path.join(hub, "wide_resnet50_2-95faca4d.pth"));
    const found = await resolvePatchCoreWeights({ randomAllowed: false, env });
    assert.equal(found.kind === "file" && found.path, path.join(hub, "wide_resnet50_2-95faca4d.pth"));
    // That file is a reduced-width ResNet: using it as wide_resnet50_2 fails with the tensor at fault.
    const pc = new PatchCoreWideResNet(found, { size: 64 });
    await assert.rejects(
      pc.source.extract([path.join(FIX, meta.images[0]!)]),
      /is not torchvision's wide_resnet50_2: "layer1\.0\.conv1\.weight" has shape \[8, 64, 1, 1\], expected \[128, 64, 1, 1\]/,
    );
    pc.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const schema = await methodOptionSchema("patchcore");
  assert.deepEqual(Object.keys(schema), ["backbone", "coresetRatio"]);
  assert.equal(schema.backbone!.default, "wide_resnet50_2");
  const fake = { config: { vision: { layers: 4, width: 8, patchSize: 8, imageSize: 64 } }, fingerprint: "f" } as never;
  const clip = await createMethod("patchcore", { backbone: fake, size: 64, options: { backbone: "clip", coresetRatio: "0.5" } });
  assert.ok(clip instanceof PatchCore && clip.config.coresetRatio === 0.5);
  await assert.rejects(
    createMethod("patchcore", { backbone: fake, options: { backbone: "resnet18" } }),
    /option backbone must be one of wide_resnet50_2, clip/,
  );
  const prev = process.env[PATCHCORE_WEIGHTS_ENV];
  process.env[PATCHCORE_WEIGHTS_ENV] = "random";
  try {
    const m = await createMethod("patchcore", { backbone: fake, layers: [1, 2, 3] });
    assert.ok(m instanceof PatchCoreWideResNet && m.random);
    assert.deepEqual([m.size, m.layers, m.source.grid, m.source.width], [256, [1, 2, 3], 64, 256 + 512 + 1024]);
    await assert.rejects(createMethod("patchcore", { backbone: fake, layers: [6, 12] }), /layers are ResNet stages among 1\.\.4.*--option backbone=clip/);
  } finally {
    if (prev === undefined) delete process.env[PATCHCORE_WEIGHTS_ENV];
    else process.env[PATCHCORE_WEIGHTS_ENV] = prev;
  }
});

test("predictImages reads a method's own features: PatchCore's WideResNet source, not the CLIP model", async () => {
  const pc = new PatchCoreWideResNet({ kind: "random", seed: 0 }, { size: 64, coresetRatio: 1 });
  try {
    const [a, b] = meta.images.map((rel) => path.join(FIX, rel)) as [string, string];
    const [p] = await predictImages(pc, {} as never, [b], "x", { references: [a] });
    const direct = new PatchCoreWideResNet({ kind: "random", seed: 0 }, { size: 64, coresetRatio: 1 });
    await direct.setMemory("x", await pc.source.extract([a]));
    const out = await direct.score({ features: await pc.source.extract([b]), categories: ["x"] });
    assert.equal(p!.size, 64);
    assert.equal(p!.score, out.scores[0]);
    assert.deepEqual(p!.map, out.maps[0]);
    direct.dispose();
  } finally {
    pc.dispose();
  }
});
