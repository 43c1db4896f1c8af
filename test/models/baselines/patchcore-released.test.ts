/**
 * PatchCore on its WideResNet-50-2 against anomalib's released modules (fixtures by
 * test/fixtures/released-patchcore/make_fixtures.py: PatchcoreModel, AnomalyMapGenerator, GaussianBlur2d with
 * kornia, KCenterGreedy and SparseRandomProjection run from the checkout, on torchvision's wide_resnet50_2 with
 * simclip's counter-based random weights, 52 px): the embeddings, the image scores and maps with a memory bank
 * set directly, and the coreset's greedy selection on anomalib's own projection.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { readSafetensors, writeSafetensors } from "../../../src/clip/safetensors.js";
import { createOrtSession, ort } from "../../../src/clip/ort-executor.js";
import type { ImageFeatures } from "../../../src/models/common/types.js";
import { loadResNetWeights, randomWideResNetWeights, RANDOM_WEIGHTS_METADATA_KEY } from "../../../src/models/patchcore/resnet-weights.js";
import { buildResNetGraph, EMBEDDING_OUTPUT } from "../../../src/models/patchcore/wide-resnet.js";
import { preprocessImagenet } from "../../../src/models/patchcore/imagenet-preprocess.js";
import { WRN_EMBEDDING_SECTION } from "../../../src/models/patchcore/wide-resnet-source.js";
import { PatchCoreWideResNet } from "../../../src/models/patchcore/wide-resnet-method.js";
import { nearestEuclidean, reweightedImageScore, searchMemory, type SearchMemory } from "../../../src/models/patchcore/scoring.js";
import { greedyCoreset } from "../../../src/models/patchcore/coreset.js";
import { anomalibAnomalyMap, anomalibCoresetSize, johnsonLindenstraussMinDim, sparseRandomProjection } from "../../../src/models/patchcore/anomalib.js";

const FIX = path.join(import.meta.dirname, "../../fixtures/released-patchcore");

interface Scenario {
  pred_score: number[];
  locations: number[][];
}
const meta = JSON.parse(readFileSync(path.join(FIX, "reference.json"), "utf8")) as {
  size: number;
  grid: number;
  embedding_width: number;
  weights: { seed: number; batchNorm: "random" };
  dataset: string;
  images: string[];
  normals: number[];
  queries: number[];
  num_neighbors: number;
  sigma: number;
  full: Scenario & { memory_rows: number };
  coreset: Scenario & {
    sampling_ratio: number;
    coreset_size: number;
    n_components: number;
    start: number;
    selected: number[];
    matrix_nonzero: number;
    matrix_nonzero_abs_min: number;
    matrix_nonzero_abs_max: number;
  };
};
const ref = await readSafetensors(path.join(FIX, "reference.safetensors"));
const S = meta.size;
const G = meta.grid;
const P = G * G;
const D = meta.embedding_width;
const files = meta.images.map((rel) => path.join(FIX, meta.dataset, rel));

function maxAbsDiff(a: Float32Array, b: Float32Array, what: string): number {
  assert.equal(a.length, b.length, `${what}: ${a.length} values, fixture ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function report(what: string, d: number, measure = "max |diff|"): void {
  process.stderr.write(`${what}: ${measure} ${d.toExponential(2)}\n`);
}

const rowsOf = (emb: Float32Array, image: number): Float32Array => emb.slice(image * P * D, (image + 1) * P * D);
const features = (rows: Float32Array): ImageFeatures => ({
  patchTokens: new Map([[WRN_EMBEDDING_SECTION, rows]]),
  pooled: new Float32Array(D),
  grid: G,
  width: D,
});

// The fixture's backbone weights, and our embeddings of the fixture's pixels (anomalib's pre-processing done by torch).
const weights = randomWideResNetWeights({ seed: meta.weights.seed, batchNorm: meta.weights.batchNorm });
const ours = await (async () => {
  const g = buildResNetGraph(weights, { size: S, layers: [2, 3] });
  assert.deepEqual([g.grid, g.width], [G, D]);
  const session = await createOrtSession(g.bytes, { threads: 2 });
  try {
    const pixels = ref.get("pixels")!;
    const out = await session.run({ pixel_values: new ort.Tensor("float32", pixels.data, pixels.shape) });
    return out[EMBEDDING_OUTPUT]!.data as Float32Array;
  } finally {
    await session.release();
  }
})();

test("the patch embedding (layer2 and layer3 average-pooled, layer3 resized bilinear to layer2's grid 7 from 4, concatenated) equals PatchcoreModel's", () => {
  const want = ref.get("embedding")!;
  assert.deepEqual(want.shape, [files.length, P, D]);
  const d = maxAbsDiff(ours, want.data, "embedding");
  report(`embedding ${JSON.stringify(want.shape)}`, d);
  assert.ok(d < 1e-4, `embedding: max |diff| ${d}`);
});

/**
 * Patch scores compared as squared distances, relative to the terms that cancel: both sides compute
 * |q|² + |m|² - 2 q.m in float32 (anomalib in torch, ours with the product on onnxruntime), whose error is
 * absolute in the square and grows with the norms (|q|², |m|² reach ~135 here) while the distances are as
 * small as 0.1. anomalib's own squared patch scores differ from exact float64 ones by up to 9e-5 on this
 * fixture, 8e-7 of |q|²; the bound, 2e-6 (|q|² + |m|²), is about 17 float32 ulps of the cancelled terms.
 */
function checkPatchScores(got: Float32Array, want: Float32Array, patches: Float32Array, mem: SearchMemory, index: Int32Array, what: string): void {
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    let qq = 0;
    for (let k = 0; k < D; k++) qq += patches[i * D + k]! ** 2;
    const ratio = Math.abs(got[i]! ** 2 - want[i]! ** 2) / (qq + mem.norms[index[i]!]!);
    worst = Math.max(worst, ratio);
  }
  report(`${what}: squared patch scores`, worst, "max |diff| / (|q|² + |m|²)");
  assert.ok(worst < 2e-6, `${what}: squared patch scores differ by ${worst} of |q|² + |m|²`);
}

async function checkScores(out: { scores: Float32Array; maps: Float32Array[] }, scenario: "full" | "coreset", tol: number, label: string): Promise<void> {
  const want = meta[scenario];
  const maps = ref.get(`${scenario}.anomaly_map`)!;
  assert.deepEqual(maps.shape, [meta.queries.length, S, S]);
  for (const [q, image] of meta.queries.entries()) {
    const ds = Math.abs(out.scores[q]! - want.pred_score[q]!);
    const dm = maxAbsDiff(out.maps[q]!, maps.data.subarray(q * S * S, (q + 1) * S * S), `${scenario} map ${q}`);
    report(`${label} ${meta.images[image]}: score ${out.scores[q]!.toFixed(6)} (anomalib ${want.pred_score[q]!.toFixed(6)}), map`, dm);
    assert.ok(ds < tol, `${label} ${meta.images[image]}: score ${out.scores[q]} vs anomalib ${want.pred_score[q]}`);
    assert.ok(dm < tol, `${label} ${meta.images[image]}: map max |diff| ${dm}`);
  }
}

test("memory bank = the 2 normal images' embeddings: image scores (num_neighbors 9 re-weighting) and maps (nearest resize, GaussianBlur2d sigma 4) equal PatchcoreModel.forward's", async () => {
  const pc = new PatchCoreWideResNet({ kind: "random", seed: meta.weights.seed }, { size: S, coresetRatio: 1 });
  assert.equal(pc.config.neighbours, meta.num_neighbors);
  assert.equal(pc.config.sigma, meta.sigma);
  try {
    await pc.setMemory(
      "x",
      meta.normals.map((i) => features(rowsOf(ours, i))),
    );
    const out = await pc.score({ features: meta.queries.map((i) => features(rowsOf(ours, i))), categories: meta.queries.map(() => "x") });
    assert.equal(out.size, S);
    await checkScores(out, "full", 1e-4, "full memory");
  } finally {
    pc.dispose();
  }
  // The patch scores and nearest memory rows behind them (PatchcoreModel.nearest_neighbors, n_neighbors 1).
  const mem = searchMemory(Float32Array.from(meta.normals.flatMap((i) => [...rowsOf(ours, i)])), meta.full.memory_rows, D);
  const ps = ref.get("full.patch_scores")!.data;
  for (const [q, image] of meta.queries.entries()) {
    const nn = await nearestEuclidean(rowsOf(ours, image), P, mem);
    assert.deepEqual([...nn.index], meta.full.locations[q], `${meta.images[image]}: nearest memory rows`);
    checkPatchScores(nn.distance, ps.subarray(q * P, (q + 1) * P), rowsOf(ours, image), mem, nn.index, meta.images[image]!);
  }
});

test("the whole path from the image files (our pre-processing, the backbone read from a file, the embedding, the memory, the scoring) equals anomalib's", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "simclip-pc-released-"));
  try {
    const file = path.join(dir, "wrn.safetensors");
    await writeSafetensors(file, weights, { [RANDOM_WEIGHTS_METADATA_KEY]: JSON.stringify({ random: true }) });
    const { sha256 } = await loadResNetWeights(file);
    const pc = new PatchCoreWideResNet({ kind: "file", path: file, sha256, random: true }, { size: S, coresetRatio: 1 });
    try {
      const pixels = ref.get("pixels")!.data;
      for (const [i, f] of files.entries()) {
        const d = maxAbsDiff(await preprocessImagenet(f, S), pixels.subarray(i * 3 * S * S, (i + 1) * 3 * S * S), "pixels");
        assert.ok(d < 2e-5, `${meta.images[i]}: pixels max |diff| ${d}`);
      }
      const extracted = await pc.source.extract(files);
      const want = ref.get("embedding")!.data;
      for (const [i, f] of extracted.entries()) {
        const d = maxAbsDiff(f.patchTokens.get(WRN_EMBEDDING_SECTION)!, rowsOf(want, i), "embedding");
        assert.ok(d < 1e-4, `${meta.images[i]}: embedding max |diff| ${d}`);
      }
      await pc.setMemory(
        "x",
        meta.normals.map((i) => extracted[i]!),
      );
      const out = await pc.score({ features: meta.queries.map((i) => extracted[i]!), categories: meta.queries.map(() => "x") });
      await checkScores(out, "full", 1e-4, "from the files");
    } finally {
      pc.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("KCenterGreedy: on anomalib's own sparse projection and start point, our greedy rule (start not kept) picks anomalib's rows; the projection's size and scale are anomalib's", () => {
  const c = meta.coreset;
  const n = meta.full.memory_rows;
  assert.equal(johnsonLindenstraussMinDim(n), c.n_components);
  assert.equal(anomalibCoresetSize(n, c.sampling_ratio), c.coreset_size);
  const projected = ref.get("coreset.features")!;
  assert.deepEqual(projected.shape, [n, c.n_components]);
  // anomalibCoreset's selection on a given projection and start (patchcore-wide-resnet.test.ts pins that
  // anomalibCoreset is exactly this expression on our own projection).
  assert.deepEqual(greedyCoreset(projected.data, n, c.n_components, c.coreset_size + 1, c.start).slice(1), c.selected);
  // Our matrix: the same number of components for n rows, entries 0 or +-sqrt(1 / density) / sqrt(k) with
  // density 1 / sqrt(d). Read off by projecting n unit vectors (columns 0..n-1 of the matrix).
  const unit = new Float32Array(n * D);
  for (let i = 0; i < n; i++) unit[i * D + i] = 1;
  const { out, k } = sparseRandomProjection(unit, n, D, 0);
  assert.equal(k, c.n_components);
  assert.equal(c.matrix_nonzero_abs_min, c.matrix_nonzero_abs_max, "anomalib's non-zero entries share one magnitude");
  const nonzero = [...out].filter((v) => v !== 0).map(Math.abs);
  assert.ok(nonzero.length > 0);
  for (const v of nonzero)
    assert.ok(Math.abs(v - c.matrix_nonzero_abs_max) < 1e-6 * c.matrix_nonzero_abs_max, `entry ${v} vs anomalib ${c.matrix_nonzero_abs_max}`);
  // Density: anomalib's matrix has matrix_nonzero of k * d entries; ours, over n of its d columns, a Binomial
  // count with the same probability (4 standard deviations).
  const p = c.matrix_nonzero / (k * D);
  assert.ok(Math.abs(p - 1 / Math.sqrt(D)) < 4 * Math.sqrt(1 / Math.sqrt(D) / (k * D)), `anomalib's density ${p}`);
  const mean = n * k * p;
  assert.ok(Math.abs(nonzero.length - mean) < 4 * Math.sqrt(mean), `${nonzero.length} non-zero entries, expected about ${mean.toFixed(0)}`);
});

test("memory bank = anomalib's coreset (subsample_embedding, 24 of 98 rows): image scores and maps equal PatchcoreModel.forward's", async () => {
  const c = meta.coreset;
  const normals = Float32Array.from(meta.normals.flatMap((i) => [...rowsOf(ours, i)]));
  const rows = new Float32Array(c.selected.length * D);
  for (const [r, j] of c.selected.entries()) rows.set(normals.subarray(j * D, (j + 1) * D), r * D);
  const mem = searchMemory(rows, c.selected.length, D);
  const ps = ref.get("coreset.patch_scores")!.data;
  const scores = new Float32Array(meta.queries.length);
  const maps: Float32Array[] = [];
  for (const [q, image] of meta.queries.entries()) {
    const patches = rowsOf(ours, image);
    const nn = await nearestEuclidean(patches, P, mem);
    assert.deepEqual([...nn.index], c.locations[q], `${meta.images[image]}: nearest coreset rows`);
    checkPatchScores(nn.distance, ps.subarray(q * P, (q + 1) * P), patches, mem, nn.index, meta.images[image]!);
    scores[q] = reweightedImageScore(patches, nn, mem, meta.num_neighbors);
    maps.push(anomalibAnomalyMap(nn.distance, G, S, meta.sigma));
  }
  await checkScores({ scores, maps }, "coreset", 1e-4, "coreset memory");
});
