import { test } from "node:test";
import assert from "node:assert/strict";
import { sortScores } from "../../src/metrics/radix-sort.js";
import { at } from "../at.js";
import { rng } from "./random-data.js";

for (const Ctor of [Float32Array, Float64Array]) {
  test(`sortScores(${Ctor.name}) equals a comparator sort and carries the payload along`, () => {
    const r = rng(3);
    const specials = [0, -0, 1e-40, -1e-40, Infinity, -Infinity, 3.5, -3.5, Number.MAX_VALUE, -Number.MIN_VALUE];
    const n = 70_000;
    const values = new Ctor(n);
    for (let i = 0; i < n; i++) {
      const u = r();
      values[i] = u < 0.05 ? at(specials, i % specials.length) : u < 0.5 ? Math.round((u - 0.3) * 20) : (u - 0.6) * 1e6 * r();
    }
    const original = values.slice();
    const payload = Uint32Array.from({ length: n }, (_, i) => i);
    sortScores(values, payload);
    const expected = Array.from(original).sort((a, b) => a - b);
    assert.deepEqual(
      Array.from(values).map((v) => (v === 0 ? 0 : v)),
      expected.map((v) => (v === 0 ? 0 : v)),
    );
    for (let i = 0; i < n; i++) assert.equal(values[i] === original[at(payload, i)], true, `payload at ${i}`);
    assert.equal(new Set(payload).size, n);
  });
}

test("sortScores sorts a subarray view in place without touching the rest of the buffer", () => {
  const buf = new Float64Array([9, 3, 1, 2, -7]);
  sortScores(buf.subarray(1, 4));
  assert.deepEqual(Array.from(buf), [9, 1, 2, 3, -7]);
});
