import { test } from "node:test";
import assert from "node:assert/strict";
import { tfReady } from "../../../src/tf.js";
import { InvalidArgumentError, ShapeError } from "../../../src/errors.js";
import { SimClip } from "../../../src/models/simclip/model.js";
import { scoreChunk } from "../../../src/models/simclip/scoring.js";
import { SimClipPlus } from "../../../src/models/simclip-plus/model.js";
import { createMethod } from "../../../src/models/registry.js";
import { fakeBackbone, fakeFeatures, TINY } from "../common/fake-backbone.js";

// Patch size 1: the map size equals the grid, so align_corners upsampling is the identity and the
// grid-level numbers can be read off the maps (sigma 0: no smoothing).
const D = { ...TINY, patchSize: 1 };
const G = 5,
  P = G * G;

async function plus(layers: number[], cfg: ConstructorParameters<typeof SimClipPlus>[1] = {}) {
  await tfReady();
  const simclip = await SimClip.create(fakeBackbone(D), { layers, size: G, sigma: 0, logitScale: 5 }, 3);
  return new SimClipPlus(simclip, cfg);
}

function bruteNeighbour(q: Float32Array, mem: Float32Array[], p: number, w: number): { index: number; cos: number } {
  let best = -Infinity,
    index = -1;
  const norm = (a: Float32Array, o: number) => Math.hypot(...a.subarray(o, o + w));
  mem.forEach((m, img) => {
    for (let j = 0; j < P; j++) {
      let s = 0;
      for (let k = 0; k < w; k++) s += q[p * w + k]! * m[j * w + k]!;
      s /= norm(q, p * w) * norm(m, j * w);
      if (s > best) [best, index] = [s, img * P + j];
    }
  });
  return { index, cos: best };
}

test("a query identical to its memory gets an all-zero few-shot map (FD distance 0, the prior cancels the zero-shot map)", async () => {
  for (const weighting of ["per-layer", "last-layer"] as const) {
    const m = await plus([2, 4], { weighting });
    const img = fakeFeatures("same", G, [2, 4], D);
    await m.setMemory("pcb", [img]);
    const out = await m.score({ features: [img], categories: ["pcb"] });
    assert.equal(out.maps[0]!.length, G * G);
    for (const v of out.maps[0]!) assert.ok(Math.abs(v) < 1e-5, `${weighting}: map value ${v}`);
    m.dispose();
  }
});

test("PAO map equals Algorithm 1 recomputed from SimCLIP's own zero-shot scoring and a brute-force neighbour search", async () => {
  const m = await plus([3], { fd: false });
  const refs = [fakeFeatures("ref0", G, [3], D), fakeFeatures("ref1", G, [3], D)];
  const query = fakeFeatures("query", G, [3], D);
  await m.setMemory("metal_nut", refs);
  const out = await m.score({ features: [query], categories: ["metal_nut"] });
  // SimCLIP's scoring path (tfjs) at grid = map size gives each patch's zero-shot probability, for the
  // query and for every memory patch (scored as if they were queries).
  const zq = await scoreChunk(m.simclip, [query], ["metal_nut"]);
  const zm = await scoreChunk(m.simclip, refs, ["metal_nut", "metal_nut"]);
  const W = D.width;
  let positive = 0;
  for (let p = 0; p < P; p++) {
    const nn = bruteNeighbour(
      query.patchTokens.get(3)!,
      refs.map((r) => r.patchTokens.get(3)!),
      p,
      W,
    );
    const expected = Math.max(0, zq.sum[p]! - ((1 + nn.cos) / 2) * zm.sum[nn.index]!);
    if (expected > 0.05) positive++;
    assert.ok(Math.abs(out.maps[0]![p]! - expected) < 1e-4, `patch ${p}: ${out.maps[0]![p]} vs ${expected}`);
  }
  assert.ok(positive >= 5, `only ${positive} patches above the clip: the check would be vacuous`);
  // Before finalisation the scores are SimCLIP's text probabilities.
  assert.ok(Math.abs(out.scores[0]! - zq.prob[0]!) < 1e-6);
  m.dispose();
});

test("FD only: SimCLIP's zero-shot map plus M_v; finalizeCategory min-max combines text probability and map maxima", async () => {
  const m = await plus([2, 4], { pao: false, imageScoreMap: "few-shot" });
  const refs = [fakeFeatures("r", G, [2, 4], D)];
  const queries = [0, 1, 2].map((i) => fakeFeatures(`q${i}`, G, [2, 4], D));
  await m.setMemory("pcb", refs);
  const a = await m.score({ features: queries.slice(0, 2), categories: ["pcb", "pcb"] });
  const b = await m.score({ features: queries.slice(2), categories: ["pcb"] });
  const zero = await scoreChunk(m.simclip, queries, ["pcb", "pcb", "pcb"]);
  const maps = [...a.maps, ...b.maps];
  const maxima: number[] = [];
  queries.forEach((q, i) => {
    for (let p = 0; p < P; p++) {
      let fd = 0;
      for (const l of [2, 4])
        fd +=
          (1 -
            bruteNeighbour(
              q.patchTokens.get(l)!,
              refs.map((r) => r.patchTokens.get(l)!),
              p,
              D.width,
            ).cos) /
          2;
      const expected = zero.sum[i * P + p]! + fd;
      assert.ok(Math.abs(maps[i]![p]! - expected) < 1e-4, `image ${i} patch ${p}: ${maps[i]![p]} vs ${expected}`);
    }
    maxima.push(Math.max(...maps[i]!));
  });
  const scores = Float32Array.from([...a.scores, ...b.scores]);
  const fin = m.finalizeCategory("pcb", { size: G, maps, scores });
  const lo = Math.min(...maxima),
    hi = Math.max(...maxima);
  fin.scores.forEach((s, i) => {
    assert.ok(Math.abs(s - 0.5 * (zero.prob[i]! + (maxima[i]! - lo) / (hi - lo))) < 1e-5);
  });
  // Finalising ends the class (its memory is released); finalising a class with a different number
  // of outputs than were scored is an error.
  assert.throws(
    () => m.finalizeCategory("pcb", { size: G, maps, scores }),
    (e: unknown) => e instanceof InvalidArgumentError && /setMemory/.test(e.message),
  );
  await m.setMemory("pcb", refs);
  await m.score({ features: queries.slice(0, 1), categories: ["pcb"] });
  assert.throws(
    () => m.finalizeCategory("pcb", { size: G, maps, scores }),
    (e: unknown) => e instanceof ShapeError && /3 outputs/.test(e.message),
  );
  m.dispose();
});

test("released-code image score: the maximum of SimCLIP's zero-shot map + M_v, whatever PAO does to the map", async () => {
  const m = await plus([2, 4], { imageScoreMap: "zero-shot+fd" });
  const fdOnly = new SimClipPlus(m.simclip, { pao: false });
  const refs = [fakeFeatures("r", G, [2, 4], D)];
  const queries = [0, 1, 2, 3].map((i) => fakeFeatures(`q${i}`, G, [2, 4], D));
  const cats = queries.map(() => "pcb");
  await m.setMemory("pcb", refs);
  await fdOnly.setMemory("pcb", refs);
  const out = m.finalizeCategory("pcb", await m.score({ features: queries, categories: cats }));
  const ref = await fdOnly.score({ features: queries, categories: cats });
  const maxima = ref.maps.map((x) => Math.max(...x));
  const lo = Math.min(...maxima),
    hi = Math.max(...maxima);
  out.scores.forEach((s, i) => {
    assert.ok(Math.abs(s - 0.5 * (ref.scores[i]! + (maxima[i]! - lo) / (hi - lo))) < 1e-5, `image ${i}`);
  });
  // ... while the maps themselves are the PAO + FD maps, not the zero-shot + FD ones.
  assert.ok(out.maps.some((x, i) => x.some((v, p) => Math.abs(v - ref.maps[i]![p]!) > 1e-3)));
  m.dispose();
});

test("SimCLIP+ errors: scoring a class without memory, both switches off, and the registry knows simclip+", async () => {
  const m = await plus([2]);
  await assert.rejects(
    m.score({ features: [fakeFeatures("x", G, [2], D)], categories: ["pcb"] }),
    (e: unknown) => e instanceof InvalidArgumentError && /setMemory\("pcb"/.test(e.message),
  );
  m.dispose();
  await assert.rejects(plus([2], { fd: false, pao: false }), (e: unknown) => e instanceof InvalidArgumentError && /--method simclip/.test(e.message));
  const viaRegistry = await createMethod("simclip+", { backbone: fakeBackbone(D), size: G, layers: [2] });
  assert.equal(viaRegistry.name, "simclip+");
  assert.ok(viaRegistry.setMemory && viaRegistry.finalizeCategory);
  viaRegistry.dispose?.();
});
