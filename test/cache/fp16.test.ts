import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "../../src/errors.js";
import { fromFloat16, toFloat16 } from "../../src/cache/fp16.js";

// Reference bits from Python's struct "<e" (IEEE binary16, round half to even); see the file's "generator".
const ref = JSON.parse(readFileSync(new URL("../fixtures/cache/fp16-reference.json", import.meta.url), "utf8")) as {
  float32: string[];
  float16_bits: number[];
};

test("toFloat16 matches Python's struct '<e' bit for bit (normals, subnormals, ties to even, max, signed zero)", () => {
  const values = Float32Array.from(ref.float32.map(Number));
  const bits = toFloat16(values, "fixture");
  for (let i = 0; i < values.length; i++) assert.equal(bits[i], ref.float16_bits[i], `value ${ref.float32[i]}`);
});

test("fromFloat16 inverts toFloat16 and agrees with the binary16 formula", () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const f = fromFloat16(all);
  assert.equal(f[0x3c00], 1);
  assert.equal(f[0xc000], -2);
  assert.equal(f[0x7bff], 65504);
  assert.equal(f[0x0001], 2 ** -24);
  assert.equal(f[0x0400], 2 ** -14);
  assert.equal(f[0x3555], 0.333251953125);
  assert.equal(f[0x7c00], Infinity);
  assert.ok(Number.isNaN(f[0x7e00]!));
  assert.ok(Object.is(f[0x8000], -0));
  // Every finite half value survives the round trip exactly.
  const finite = all.filter((h) => (h & 0x7c00) !== 0x7c00);
  assert.deepEqual(toFloat16(fromFloat16(finite), "roundtrip"), finite);
});

test("toFloat16 rejects finite values beyond the float16 range instead of storing infinity", () => {
  assert.throws(
    () => toFloat16(Float32Array.of(1, 70000), "layer 6"),
    (e: unknown) => e instanceof InvalidArgumentError && /layer 6: value 70000 at index 1/.test(e.message),
  );
  assert.deepEqual([...toFloat16(Float32Array.of(Infinity, -Infinity), "x")], [0x7c00, 0xfc00]);
});
