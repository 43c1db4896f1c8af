import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { InvalidArgumentError, ShapeError } from "../../../src/errors.js";
import { createRng } from "../../../src/data/random.js";
import { nearestNeighbours, normalizeRowsArray } from "../../../src/models/components/nearest-neighbour.js";
import { MemoryGallery } from "../../../src/models/components/memory-gallery.js";
import { featureDrivenGrid, featureDrivenMap } from "../../../src/models/simclip-plus/feature-map.js";
import { neighbourSimilarity, priorAwareGrid, priorAwareMap } from "../../../src/models/simclip-plus/prior-aware.js";
import { combineImageScores } from "../../../src/models/components/image-score.js";
import { patchAnomalyProbabilities } from "../../../src/models/simclip-plus/zero-shot-grid.js";
import type { ImageFeatures } from "../../../src/models/common/types.js";

const fixture = JSON.parse(readFileSync(new URL("../../fixtures/simclip-plus/reference.json", import.meta.url), "utf8"));

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c]!;
  return t;
}

test("nearest neighbours of hand-built unit vectors: known winners, cosines, and the first index on ties", async () => {
  // Memory rows (3-D, already unit length): e_x, e_y, e_x again (a tie with row 0), (e_y + e_z) / sqrt 2.
  const r = Math.SQRT1_2;
  const memory = new Float32Array([1, 0, 0, 0, 1, 0, 1, 0, 0, 0, r, r]);
  const query = new Float32Array([
    1,
    0,
    0, // = row 0 and row 2: first index wins
    0,
    0,
    1, // cos 0 to e_x, e_y; cos r to row 3
    0,
    -1,
    0, // opposite e_y: best is cos 0 (rows 0, 2) vs cos -r (row 3) vs -1: row 0
    0.6,
    0.8,
    0, // cos 0.6 with e_x, 0.8 with e_y
  ]);
  const { maxCos, index } = await nearestNeighbours(query, 4, transpose(memory, 4, 3), 4, 3);
  assert.deepEqual([...index], [0, 3, 0, 1]);
  close(maxCos, [1, r, 0, 0.8], 1e-6, "maxCos");
});

test("nearest neighbours agree with a brute-force float64 search on random features", async () => {
  const rng = createRng("nn-brute", 1);
  const n = 37,
    m = 211,
    w = 24;
  const q = normalizeRowsArray(
    Float32Array.from({ length: n * w }, () => rng.normal()),
    n,
    w,
    "q",
  );
  const mem = normalizeRowsArray(
    Float32Array.from({ length: m * w }, () => rng.normal()),
    m,
    w,
    "m",
  );
  const { maxCos, index } = await nearestNeighbours(q, n, transpose(mem, m, w), m, w);
  for (let i = 0; i < n; i++) {
    let best = -Infinity,
      arg = -1;
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < w; k++) s += q[i * w + k]! * mem[j * w + k]!;
      if (s > best) [best, arg] = [s, j];
    }
    assert.equal(index[i], arg, `query ${i}`);
    assert.ok(Math.abs(maxCos[i]! - best) < 1e-5);
  }
});

test("a zero feature vector is an error naming the row, not a NaN map", () => {
  assert.throws(
    () => normalizeRowsArray(new Float32Array([1, 2, 0, 0]), 2, 2, "query layer 6"),
    (e: unknown) => e instanceof InvalidArgumentError && /query layer 6: row 1/.test(e.message),
  );
});

function galleryImages(layerData: { layer: number; memory: number[] }[], k: number, p: number, w: number): ImageFeatures[] {
  return Array.from({ length: k }, (_, i) => ({
    patchTokens: new Map(layerData.map((l) => [l.layer, Float32Array.from(l.memory.slice(i * p * w, (i + 1) * p * w))])),
    pooled: new Float32Array(w),
    grid: Math.sqrt(p),
    width: w,
  }));
}

test("memory gallery (Eq. 7) and M_v match the authors' code (sklearn cosine, min of (1 - cos) / 2, torch bilinear align_corners)", async () => {
  const { W, G, K, S } = fixture.dims;
  const P = G * G;
  const gallery = MemoryGallery.build(
    galleryImages(fixture.layers, K, P, W),
    fixture.layers.map((l: { layer: number }) => l.layer),
  );
  assert.equal(gallery.size, K * P);
  const maxCos: Float32Array[] = [];
  for (const l of fixture.layers) {
    const nn = await gallery.search(l.layer, Float32Array.from(l.query), P);
    assert.deepEqual([...nn.index], l.index, `layer ${l.layer} neighbours`);
    close(nn.maxCos, l.maxCos, 1e-5, `layer ${l.layer} max cos`);
    maxCos.push(nn.maxCos);
  }
  // Hand-built neighbours in the fixture: patch 0 copies memory row 11, patch 8 ties rows 5 and 13.
  assert.equal(fixture.layers[0].index[0], 11);
  assert.equal(fixture.layers[0].index[8], 5);
  const grid = featureDrivenGrid(maxCos);
  close(grid, fixture.fdGrid, 1e-5, "FD grid");
  close(featureDrivenMap(grid, G, S), fixture.fdMap, 1e-5, "M_v");
});

test("memory gallery rejects empty, mixed-size and layer-less references with the fix in the message", () => {
  const f = (grid: number, layers: number[]): ImageFeatures => ({
    patchTokens: new Map(layers.map((l) => [l, new Float32Array(grid * grid * 2).fill(1)])),
    pooled: new Float32Array(2),
    grid,
    width: 2,
  });
  assert.throws(() => MemoryGallery.build([], [1]), InvalidArgumentError);
  assert.throws(
    () => MemoryGallery.build([f(2, [1]), f(3, [1])], [1]),
    (e: unknown) => e instanceof ShapeError && /one backbone and size/.test(e.message),
  );
  assert.throws(
    () => MemoryGallery.build([f(2, [1])], [1, 6]),
    (e: unknown) => e instanceof ShapeError && /no layer 6/.test(e.message),
  );
});

test("grid zero-shot probabilities are the two-prompt softmax of scale x cosine (authors' get_normal_scoremap)", () => {
  const { W, E, scale } = fixture.dims;
  const diff = Float32Array.from(fixture.t1, (v: number, i: number) => v - fixture.t0[i]);
  for (const l of fixture.layers) {
    const adapt = (x: number[]) => {
      const rows = x.length / W;
      const y = new Float32Array(rows * E);
      for (let r = 0; r < rows; r++)
        for (let e = 0; e < E; e++) {
          let s = l.b[e];
          for (let k = 0; k < W; k++) s += x[r * W + k]! * l.w[k * E + e]!;
          y[r * E + e] = s;
        }
      return y;
    };
    close(patchAnomalyProbabilities(adapt(l.query), l.query.length / W, E, diff, scale), l.queryProb, 1e-5, `layer ${l.layer} query`);
    close(patchAnomalyProbabilities(adapt(l.memory), l.memory.length / W, E, diff, scale), l.memoryProb, 1e-5, `layer ${l.layer} memory`);
  }
});

test("Algorithm 1 matches the reference: per-layer weighting (paper) and last-layer weighting (released code), and the final maps", () => {
  const { G, S, sigma } = fixture.dims;
  const inputs = fixture.layers.map((l: { queryProb: number[]; memoryProb: number[]; index: number[]; maxCos: number[] }) => ({
    queryProb: Float32Array.from(l.queryProb),
    memoryProb: Float32Array.from(l.memoryProb),
    index: Int32Array.from(l.index),
    similarity: neighbourSimilarity(Float32Array.from(l.maxCos)),
  }));
  const paper = priorAwareGrid(inputs, "per-layer");
  const released = priorAwareGrid(inputs, "last-layer");
  close(paper, fixture.paoGridPaper, 1e-5, "per-layer grid");
  close(released, fixture.paoGridReleased, 1e-5, "last-layer grid");
  // Patch 0 equals its neighbour in both layers: the prior cancels its zero-shot score exactly.
  assert.equal(paper[0], 0);
  const fd = Float32Array.from(fixture.fdMap);
  close(
    priorAwareMap(paper, G, S, sigma).map((v, i) => v + fd[i]!),
    fixture.finalPaper,
    1e-5,
    "final map (paper)",
  );
  close(
    priorAwareMap(released, G, S, sigma).map((v, i) => v + fd[i]!),
    fixture.finalReleased,
    1e-5,
    "final map (released)",
  );
});

test("Algorithm 1 by hand: subtraction, similarity weighting and the clip to [0, |L|]", () => {
  const layer = (q: number[], sim: number[]) => ({
    queryProb: Float32Array.from(q),
    memoryProb: Float32Array.from([0.5, 1]),
    index: Int32Array.from([0, 1, 1]),
    similarity: Float32Array.from(sim),
  });
  const a = layer([0.9, 0.2, 0.1], [1, 0.5, 1]);
  const b = layer([0.8, 0.9, 0.3], [0.5, 1, 0]);
  // per-layer: [0.9 - 0.5 + 0.8 - 0.25, 0.2 - 0.5 + 0.9 - 1, 0.1 - 1 + 0.3 - 0] = [0.95, -0.4 -> 0, -0.6 -> 0]
  close(priorAwareGrid([a, b], "per-layer"), [0.95, 0, 0], 1e-6, "per-layer");
  // last-layer (b's similarity): [0.9 - 0.25 + 0.8 - 0.25, 0.2 - 1 + 0.9 - 1, 0.1 + 0.3] = [1.2, 0, 0.4]
  close(priorAwareGrid([a, b], "last-layer"), [1.2, 0, 0.4], 1e-6, "last-layer");
  assert.throws(() => priorAwareGrid([a, { ...b, index: Int32Array.from([0, 1, 2]) }]), ShapeError);
});

test("image score: 0.5 * (text probability + per-class min-max of the map maxima)", () => {
  const { text, maxima, expected } = fixture.imageScore;
  close(combineImageScores(Float32Array.from(text), Float32Array.from(maxima)), expected, 1e-6, "scores");
  // By hand: maxima 2, 4, 3 -> 0, 1, 0.5.
  close(combineImageScores(Float32Array.from([0.2, 0.4, 0.6]), Float32Array.from([2, 4, 3])), [0.1, 0.7, 0.55], 1e-6, "hand");
  // Equal maxima carry no ranking: the text probability's order is kept (numpy would give NaN).
  close(combineImageScores(Float32Array.from([0.2, 0.8]), Float32Array.from([3, 3])), [0.1, 0.4], 1e-7, "flat");
});
