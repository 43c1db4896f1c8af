import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { decodeNpy, encodeNpy, readNpy } from "../../src/viz/npy.js";
import { FileFormatError, ShapeError } from "../../src/errors.js";

const DIR = path.join(import.meta.dirname, "..", "fixtures", "viz", "npy");

test("encodeNpy writes the same bytes as np.save", async () => {
  const a = Float32Array.from({ length: 12 }, (_, i) => (i - 5.5) / 3);
  assert.deepEqual(encodeNpy(a, [3, 4]), await readFile(path.join(DIR, "f32_3x4.npy")));
  const s = Float32Array.from({ length: 6400 }, (_, i) => Math.fround(Math.sin(Math.fround(i))));
  const numpy = await readNpy(path.join(DIR, "f32_80x80.npy"));
  assert.deepEqual(numpy.shape, [80, 80]);
  // np.sin in float32 and Math.sin may differ in the last bit; the container must not.
  for (let i = 0; i < s.length; i++) assert.ok(Math.abs(numpy.data[i]! - s[i]!) < 1e-6);
  assert.deepEqual(encodeNpy(numpy.data, [80, 80]), await readFile(path.join(DIR, "f32_80x80.npy")));
});

test("decodeNpy reads float64 and round-trips float32", async () => {
  const d = await readNpy(path.join(DIR, "f64_5.npy"));
  assert.deepEqual(d.shape, [5]);
  assert.deepEqual([...d.data], [-1, -0.5, 0, 0.5, 1]);
  const a = Float32Array.of(1.5, -2, 3.25);
  assert.deepEqual(decodeNpy(encodeNpy(a, [3])), { data: a, shape: [3] });
});

test("npy errors say what is wrong", () => {
  assert.throws(() => encodeNpy(new Float32Array(5), [2, 3]), ShapeError);
  assert.throws(
    () => decodeNpy(Buffer.from("not numpy at all"), "x.npy"),
    (e: unknown) => e instanceof FileFormatError && /x\.npy.*magic/.test(e.message),
  );
  const full = encodeNpy(new Float32Array(4), [4]);
  const truncated = full.subarray(0, full.length - 3);
  assert.throws(
    () => decodeNpy(truncated, "t.npy"),
    (e: unknown) => e instanceof FileFormatError && /needs 16 data bytes/.test(e.message),
  );
});
