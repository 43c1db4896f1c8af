import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileFormatError, MissingFileError } from "../../src/errors.js";
import { float32ToFloat16, readSafetensors, readSafetensorsWithMetadata, writeSafetensors } from "../../src/clip/safetensors.js";
import { createHash } from "node:crypto";

const FIX = join(import.meta.dirname, "..", "fixtures");
const halvesRaw = JSON.parse(readFileSync(join(FIX, "clip-io", "halves.json"), "utf8")) as Record<string, Array<number | string>>;
/** The fixture writes infinities as strings (JSON has none). */
const halves = Object.fromEntries(Object.entries(halvesRaw).map(([k, v]) => [k, v.map(Number)])) as Record<
  "source_float32" | "f16_as_float32" | "f16_bits" | "bf16_as_float32",
  number[]
>;
const tmp = mkdtempSync(join(tmpdir(), "simclip-st-"));

/** Builds a safetensors file by hand: header object as given, then `dataBytes` zero bytes. */
function craft(name: string, header: unknown, dataBytes: number, lengthField?: bigint): string {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthField ?? BigInt(json.length));
  const path = join(tmp, name);
  writeFileSync(path, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
  return path;
}

test("F16 and BF16 tensors written by torch read back as torch's float32 values", async () => {
  const t = await readSafetensors(join(FIX, "clip-io", "halves.safetensors"));
  const n = halves.source_float32.length;
  assert.deepEqual(t.get("f16")!.shape, [1, n]);
  assert.deepEqual(t.get("bf16")!.shape, [n]);
  assert.deepEqual(t.get("f32")!.shape, [n, 1]);
  assert.deepEqual(Array.from(t.get("f16")!.data), halves.f16_as_float32);
  assert.deepEqual(Array.from(t.get("bf16")!.data), halves.bf16_as_float32);
  assert.deepEqual(Array.from(t.get("f32")!.data), halves.source_float32.map(Math.fround));
});

test("float32 -> float16 rounding equals torch .half() bit for bit (incl. subnormals, overflow)", () => {
  const bits = halves.source_float32.map(float32ToFloat16);
  // torch gives 0xfc00-style values as int16 bit patterns; the fixture stores them as uint16.
  assert.deepEqual(bits, halves.f16_bits);
});

test("write then read round-trips F32 exactly and F16 as torch rounds it, with metadata", async () => {
  const src = Float32Array.from(halves.source_float32);
  const path = join(tmp, "rt.safetensors");
  await writeSafetensors(path, { a: { data: src, shape: [src.length] }, s: { data: Float32Array.of(2.5), shape: [] } }, { format: "pt" });
  const back = await readSafetensorsWithMetadata(path, { sha256: true });
  assert.deepEqual(back.metadata, { format: "pt" });
  assert.deepEqual(Array.from(back.tensors.get("a")!.data), Array.from(src));
  assert.deepEqual(back.tensors.get("s")!.shape, []);
  assert.equal(back.sha256, createHash("sha256").update(readFileSync(path)).digest("hex"));
  // Header is padded so the data starts 8-byte aligned.
  assert.equal(Number(readFileSync(path).readBigUInt64LE(0)) % 8, 0);

  const p16 = join(tmp, "rt16.safetensors");
  await writeSafetensors(p16, { a: { data: src, shape: [src.length] } }, {}, { dtype: "F16" });
  const h = JSON.parse(
    readFileSync(p16)
      .subarray(8, 8 + Number(readFileSync(p16).readBigUInt64LE(0)))
      .toString(),
  );
  assert.equal(h.a.dtype, "F16");
  assert.deepEqual(Array.from((await readSafetensors(p16)).get("a")!.data), halves.f16_as_float32);
});

test("the fixture's logit_scale (a 0-d tensor) reads as the reference value", async () => {
  const ref = JSON.parse(readFileSync(join(FIX, "clip-tiny", "reference.json"), "utf8")) as { logit_scale: number };
  const t = await readSafetensors(join(FIX, "clip-tiny", "open_clip_model.safetensors"));
  assert.deepEqual(t.get("logit_scale")!.shape, []);
  assert.equal(t.get("logit_scale")!.data[0], Math.fround(ref.logit_scale));
});

async function rejects(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(readSafetensors(path), (e: unknown) => {
    assert.ok(e instanceof FileFormatError, `expected FileFormatError, got ${String(e)}`);
    assert.equal(e.path, path);
    assert.match(e.message, pattern);
    return true;
  });
}

test("bad safetensors files give FileFormatError naming the file and tensor", async () => {
  const ok = { w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] } };
  const short = join(tmp, "short.safetensors");
  writeFileSync(short, Buffer.from([1, 2, 3]));
  await rejects(short, /shorter than the 8-byte header length/);
  await rejects(craft("len.safetensors", ok, 16, 1n << 40n), /header length 1099511627776 exceeds/);
  const badJson = craft("json.safetensors", ok, 16);
  const bytes = readFileSync(badJson);
  bytes[8] = "[".charCodeAt(0);
  bytes[9] = "}".charCodeAt(0);
  writeFileSync(badJson, bytes);
  await rejects(badJson, /header is not valid JSON/);
  await rejects(craft("outside.safetensors", ok, 8), /tensor "w": data_offsets \[0, 16\] lie outside the 8-byte data section/);
  await rejects(
    craft("overlap.safetensors", { a: { dtype: "F32", shape: [4], data_offsets: [0, 16] }, b: { dtype: "F32", shape: [2], data_offsets: [8, 16] } }, 16),
    /tensors "a" \[0, 16\] and "b" \[8, 16\] have overlapping byte ranges/,
  );
  await rejects(
    craft("dtype.safetensors", { w: { dtype: "I64", shape: [2], data_offsets: [0, 16] } }, 16),
    /tensor "w": unsupported dtype "I64"; expected F32, F16 or BF16/,
  );
  await rejects(
    craft("size.safetensors", { w: { dtype: "F16", shape: [3, 2], data_offsets: [0, 16] } }, 16),
    /tensor "w": shape \[3,2\] x F16 needs 12 bytes but data_offsets span 16/,
  );
  await rejects(craft("offsets.safetensors", { w: { dtype: "F32", shape: [2], data_offsets: [8, 0] } }, 16), /tensor "w": data_offsets must be \[begin, end\]/);
  await assert.rejects(readSafetensors(join(tmp, "nope.safetensors")), MissingFileError);
});
