import { test } from "node:test";
import assert from "node:assert/strict";
import { greedyCoreset } from "../../../src/models/patchcore/coreset.js";
import { neighbourhoodAverage } from "../../../src/models/patchcore/locally-aware.js";
import { nearestEuclidean, reweightedImageScore, searchMemory } from "../../../src/models/patchcore/scoring.js";
import { PatchCore } from "../../../src/models/patchcore/model.js";
import { createRng } from "../../../src/data/random.js";
import { fakeBackbone, fakeFeatures } from "../common/fake-backbone.js";

function randomRows(seed: string, n: number, d: number): Float32Array {
  const r = createRng(seed);
  return Float32Array.from({ length: n * d }, () => r.normal());
}

const dist = (x: Float32Array, d: number, i: number, j: number) => {
  let s = 0;
  for (let k = 0; k < d; k++) s += (x[i * d + k]! - x[j * d + k]!) ** 2;
  return Math.sqrt(s);
};

test("greedy coreset equals the brute-force k-center greedy: each step takes the point farthest from all chosen so far", () => {
  for (const [n, d, count, start] of [
    [40, 3, 10, 7],
    [60, 5, 60, 0],
    [25, 2, 1, 24],
    [50, 4, 17, 31],
  ] as const) {
    const x = randomRows(`coreset${n}`, n, d);
    const expected = [start as number];
    while (expected.length < count) {
      let best = -1,
        bestD = -1;
      for (let i = 0; i < n; i++) {
        if (expected.includes(i)) continue;
        const m = Math.min(...expected.map((j) => dist(x, d, i, j)));
        if (m > bestD) {
          bestD = m;
          best = i;
        }
      }
      expected.push(best);
    }
    assert.deepEqual(greedyCoreset(x, n, d, count, start), expected, `n=${n} d=${d} count=${count}`);
  }
});

test("locally aware features: 3 x 3 average pooling with zero padding counted (divisor 9), against brute force", () => {
  const g = 5,
    w = 3;
  const t = randomRows("pool", g * g, w);
  const got = neighbourhoodAverage(t, g, w);
  for (let y = 0; y < g; y++)
    for (let x = 0; x < g; x++)
      for (let k = 0; k < w; k++) {
        let s = 0;
        for (let yy = y - 1; yy <= y + 1; yy++)
          for (let xx = x - 1; xx <= x + 1; xx++) {
            if (yy >= 0 && yy < g && xx >= 0 && xx < g) s += t[(yy * g + xx) * w + k]!;
          }
        assert.ok(Math.abs(got[(y * g + x) * w + k]! - s / 9) < 1e-6);
      }
});

test("nearest-neighbour patch distances and Eq. 7's re-weighting, by hand on 1-D memory", async () => {
  // Memory 0, 1, 10 (1-D); test patches 2 and 0.5: distances 1 (to 1) and 0.5.
  const mem = searchMemory(Float32Array.from([0, 1, 10]), 3, 1);
  const patches = Float32Array.from([2, 0.5]);
  const nn = await nearestEuclidean(patches, 2, mem);
  assert.ok(Math.abs(nn.distance[0]! - 1) < 1e-6 && Math.abs(nn.distance[1]! - 0.5) < 1e-6);
  assert.deepEqual([...nn.index], [1, 0]);
  // s* = 1 at patch 0, m* = 1; its b = 2 nearest memory rows: 1 itself and 0; distances of the patch to them: 1, 2.
  const w = 1 - Math.exp(1) / (Math.exp(1) + Math.exp(2));
  assert.ok(Math.abs(reweightedImageScore(patches, nn, mem, 2) - w * 1) < 1e-6);
  assert.equal(reweightedImageScore(patches, nn, mem, 1), nn.distance[0]);
});

test("PatchCore few-shot: a memory image scores zero everywhere; a shifted patch stands out in the map", async () => {
  const G = 4,
    S = 16;
  const pc = new PatchCore(fakeBackbone(), { size: S, layers: [2, 3], coresetRatio: 1, sigma: 0 });
  const refs = [fakeFeatures("n0", G, [2, 3]), fakeFeatures("n1", G, [2, 3])];
  await pc.setMemory("pcb", refs);
  const odd = fakeFeatures("n0", G, [2, 3]);
  for (const l of [2, 3]) for (let k = 0; k < odd.width; k++) odd.patchTokens.get(l)![5 * odd.width + k]! += 5;
  const out = await pc.score({ features: [refs[0]!, odd], categories: ["pcb", "pcb"] });
  assert.ok(Math.max(...out.maps[0]!) < 1e-3 && out.scores[0]! < 1e-3);
  assert.ok(out.scores[1]! > 1);
  // Patch 5 is grid cell (1, 1): the 3 x 3 pooling spreads it over cells (0..2, 0..2), which hold the
  // map's maximum; cell (3, 3) (pixels 12..15 after upsampling 4 -> 16) is untouched.
  const arg = out.maps[1]!.indexOf(Math.max(...out.maps[1]!));
  const [y, x] = [Math.floor(arg / S), arg % S];
  assert.ok(y <= 11 && x <= 11, `maximum at ${y},${x}`);
  assert.ok(out.maps[1]![15 * S + 15]! < 1e-3);
  await assert.rejects(pc.score({ features: [odd], categories: ["screw"] }), /few-shot only/);
});
