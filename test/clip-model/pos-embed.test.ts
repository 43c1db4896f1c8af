import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { interpolatePosEmbed, resizeBicubicAA } from "../../src/clip/pos-embed.js";
import { ShapeError } from "../../src/errors.js";
import { maxAbsDiff } from "./reference.js";

// Made by the script stored in the fixture's "script" field (torch 1.13 F.interpolate on a random
// 4 x 4 x 3 grid, bicubic, align_corners=False, with and without antialias).
const fx = JSON.parse(readFileSync(new URL("../fixtures/clip-model/pos-embed-torch-bicubic.json", import.meta.url), "utf8"));

test("grid resize equals torch F.interpolate(bicubic, align_corners=False, antialias=True), the peers' call", () => {
  const input = Float32Array.from(fx.input_hwc);
  for (const g of [7, 6, 3]) {
    const out = resizeBicubicAA(input, 4, 4, 3, g, g);
    assert.ok(maxAbsDiff(out, fx[`aa_${g}`]) < 2e-6, `grid ${g}`);
    // The non-antialiased kernel (a = -0.75, border replication) is a different function: not what the peers ran.
    assert.ok(maxAbsDiff(out, fx[`noaa_${g}`]) > 1e-2, `grid ${g} differs from the a=-0.75 path`);
  }
});

test("interpolatePosEmbed keeps the class position apart and resizes the grid", () => {
  const width = 3;
  const cls = [10, -20, 30];
  const pos = { data: Float32Array.from([...cls, ...fx.input_hwc]), shape: [17, width] };
  const out = interpolatePosEmbed(pos, 7);
  assert.deepEqual(out.shape, [50, width]);
  assert.deepEqual([...out.data.subarray(0, 3)], cls);
  assert.ok(maxAbsDiff(out.data.subarray(3), fx.aa_7) < 2e-6);
  const same = interpolatePosEmbed(pos, 4);
  assert.deepEqual([...same.data], [...pos.data]);
  assert.notEqual(same.data, pos.data, "native size returns a copy");
  assert.throws(() => interpolatePosEmbed({ data: new Float32Array(18 * 3), shape: [18, 3] }, 5), ShapeError);
});
