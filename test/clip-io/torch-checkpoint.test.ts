import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileFormatError, MissingFileError } from "../../src/errors.js";
import { type PickleValue, readTorchCheckpoint, TorchTensor, torchStateDict, UnsafePickleError } from "../../src/clip/torch-checkpoint.js";
import { unpickle } from "../../src/clip/torch-pickle.js";
import type { WeightTensor } from "../../src/clip/weights.js";

/** Fixtures and the values torch.load reads from them: test/fixtures/torch-checkpoint/make_fixtures.py. */
const FIX = join(import.meta.dirname, "..", "fixtures", "torch-checkpoint");
interface RefTensor {
  dtype: string;
  shape: number[];
  /** Floats (non-finite as "NaN"/"Infinity" strings), int64 as decimal strings, other ints as numbers. */
  values: Array<number | string>;
}
const reference = JSON.parse(readFileSync(join(FIX, "reference.json"), "utf8")) as {
  marker: string;
  misc: unknown[];
  files: Record<string, { tensors: Record<string, RefTensor>; requires_grad?: boolean }>;
};
const fixture = (name: string) => join(FIX, name);
const tmp = mkdtempSync(join(tmpdir(), "simclip-pth-"));

/** The tensors of a tree keyed like make_fixtures.py's flatten: dict keys joined by ".", a root tensor as "". */
function tensorsOf(v: PickleValue, prefix = "", out = new Map<string, TorchTensor>()): Map<string, TorchTensor> {
  if (v instanceof TorchTensor) out.set(prefix, v);
  else if (v instanceof Map) for (const [k, x] of v) tensorsOf(x, prefix ? `${prefix}.${k}` : String(k), out);
  return out;
}

function assertMatchesReference(file: string, root: PickleValue) {
  const expected = reference.files[file]!.tensors;
  const actual = tensorsOf(root);
  assert.deepEqual([...actual.keys()].sort(), Object.keys(expected).sort(), `${file}: tensor names`);
  for (const [name, ref] of Object.entries(expected)) {
    const t = actual.get(name)!;
    assert.equal(t.dtype, ref.dtype, `${file} ${name}: dtype`);
    assert.deepEqual(t.shape, ref.shape, `${file} ${name}: shape`);
    // deepStrictEqual compares numbers with Object.is: NaN matches NaN, -0 does not match 0.
    if (t.data instanceof BigInt64Array) {
      assert.deepEqual(Array.from(t.data, String), ref.values, `${file} ${name}: values`);
    } else {
      assert.ok(["float32", "float16", "bfloat16", "float64"].includes(t.dtype) === t.data instanceof Float32Array);
      assert.deepEqual(Array.from(t.data as ArrayLike<number>), ref.values.map(Number), `${file} ${name}: values`);
    }
  }
}

async function assertRejects(file: string, type: new (...a: never[]) => Error, problem: RegExp): Promise<Error> {
  let caught: unknown;
  try {
    await readTorchCheckpoint(file);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof type, `${file}: expected ${type.name}, got ${String(caught)}`);
  const message = (caught as Error).message;
  assert.ok(message.includes(file), `message names the file: ${message}`);
  assert.match(message, problem);
  return caught as Error;
}

test("a state dict with a BatchNorm reads back exactly as torch.load reads it, int64 buffer included", async () => {
  const root = await readTorchCheckpoint(fixture("state_dict.pth"));
  assert.ok(root instanceof Map);
  assert.deepEqual([...root.keys()], ["trainable_linearlayer"]);
  assertMatchesReference("state_dict.pth", root);
  // Insertion order is the state dict's.
  const sd = root.get("trainable_linearlayer") as Map<string, PickleValue>;
  assert.deepEqual(
    [...sd.keys()],
    Object.keys(reference.files["state_dict.pth"]!.tensors).map((k) => k.slice("trainable_linearlayer.".length)),
  );
  const tracked = sd.get("1.num_batches_tracked") as TorchTensor;
  assert.deepEqual([tracked.dtype, tracked.shape, tracked.data], ["int64", [], BigInt64Array.of(3n)]);
});

test("torchStateDict picks the key, flattens to WeightTensors and refuses integer tensors unless told to skip them", async () => {
  const path = fixture("state_dict.pth");
  const root = await readTorchCheckpoint(path);
  assert.throws(
    () => torchStateDict(root, path, "trainable_linearlayer"),
    (e: Error) => e instanceof FileFormatError && e.message.includes(path) && /"1\.num_batches_tracked".*floating-point.*int64 tensor/.test(e.message),
  );
  const weights: Map<string, WeightTensor> = torchStateDict(root, path, "trainable_linearlayer", { skipIntegerTensors: true });
  const ref = reference.files["state_dict.pth"]!.tensors;
  const floatNames = Object.keys(ref).filter((k) => ref[k]!.dtype === "float32");
  assert.deepEqual(
    [...weights.keys()],
    floatNames.map((k) => k.slice("trainable_linearlayer.".length)),
  );
  for (const name of floatNames) {
    const w = weights.get(name.slice("trainable_linearlayer.".length))!;
    assert.ok(w.data instanceof Float32Array);
    assert.deepEqual(w.shape, ref[name]!.shape);
    assert.deepEqual(Array.from(w.data), ref[name]!.values);
  }
  // Without a key, nested dicts flatten with "." as well.
  assert.deepEqual([...torchStateDict(root, path, undefined, { skipIntegerTensors: true }).keys()], floatNames);
});

test("torchStateDict errors name the file and the key and list the top-level keys", async () => {
  const path = fixture("protocol4.pth");
  const root = await readTorchCheckpoint(path);
  assert.throws(
    () => torchStateDict(root, path, "clip"),
    (e: Error) => e instanceof FileFormatError && e.message.includes(path) && e.message.includes(`"clip"`) && e.message.includes(`"sd", "misc", 7`),
  );
  assert.throws(
    () => torchStateDict(root, path, "misc"),
    (e: Error) => e instanceof FileFormatError && e.message.includes(path) && /"misc" to be a state dict, found a list/.test(e.message),
  );
  assert.throws(
    () => torchStateDict(root, path),
    (e: Error) => e instanceof FileFormatError && /expected "misc" to be a floating-point tensor, found a list/.test(e.message),
  );
  assert.deepEqual([...torchStateDict(root, path, "sd").keys()], ["weight", "bias"]);
  const parameter = await readTorchCheckpoint(fixture("parameter.pth"));
  assert.throws(
    () => torchStateDict(parameter, path, "sd"),
    (e: Error) => e instanceof FileFormatError && /found a float32 tensor at the top level/.test(e.message),
  );
});

test("F16, BF16, F64 and every integer dtype: exact values, including infinities, NaN, -0 and subnormals", async () => {
  const root = await readTorchCheckpoint(fixture("dtypes.pth"));
  assertMatchesReference("dtypes.pth", root);
  const t = tensorsOf(root);
  assert.ok(t.get("bool")!.data instanceof Uint8Array && t.get("i8")!.data instanceof Int8Array);
  assert.ok(t.get("i16")!.data instanceof Int16Array && t.get("i32")!.data instanceof Int32Array);
  assert.deepEqual(t.get("scalar")!.shape, []);
});

test("views: transposed, sliced with a storage offset, several tensors on one storage, F16 strided", async () => {
  const root = await readTorchCheckpoint(fixture("views.pth"));
  assertMatchesReference("views.pth", root);
  const t = tensorsOf(root);
  const full = t.get("shared_full")!.data as Float32Array;
  assert.deepEqual(t.get("shared_row")!.data, full.slice(4, 8));
  assert.deepEqual(Array.from(t.get("shared_col")!.data as Float32Array), [full[2], full[6], full[10]]);
});

test("an nn.Parameter saved directly is a tensor that requires grad", async () => {
  const root = await readTorchCheckpoint(fixture("parameter.pth"));
  assert.ok(root instanceof TorchTensor);
  assert.equal(root.requiresGrad, reference.files["parameter.pth"]!.requires_grad);
  assertMatchesReference("parameter.pth", root);
});

for (const file of ["protocol1.pth", "protocol4.pth"]) {
  test(`pickle ${file.slice(0, -4)}: tensors, Python ints beyond 2^53, floats, strings, tuples, an int key`, async () => {
    const root = await readTorchCheckpoint(fixture(file));
    assertMatchesReference(file, root);
    assert.ok(root instanceof Map);
    assert.deepEqual([...root.keys()], ["sd", "misc", 7]);
    assert.equal(root.get(7), "int key");
    const misc = reference.misc.map((v) => (typeof v === "string" && /^-?\d+$/.test(v) ? BigInt(v) : v));
    assert.deepEqual(root.get("misc"), misc);
  });
}

test("a little-endian byteorder entry (torch >= 2.1) is accepted", async () => {
  assertMatchesReference("byteorder_little.pth", await readTorchCheckpoint(fixture("byteorder_little.pth")));
});

test("malicious pickles are refused at the global, before anything runs", async () => {
  rmSync(reference.marker, { force: true });
  for (const [file, global] of [
    ["evil_system.pth", "posix.system"],
    ["evil_eval.pth", "builtins.eval"],
  ] as const) {
    const e = await assertRejects(fixture(file), UnsafePickleError, new RegExp(`"${global.replace(".", "\\.")}".*Nothing from the file was executed`));
    assert.equal((e as UnsafePickleError).global, global);
    assert.ok(e instanceof FileFormatError);
    assert.equal(existsSync(reference.marker), false, `${file}: the payload must not have run`);
  }
});

test("hand-made pickles: any other global is refused, even from an allowed module; globals are no values", () => {
  const pickle = (text: string) => Uint8Array.from(Buffer.from(text, "latin1"));
  for (const [text, global] of [
    ["\x80\x02c__builtin__\ngetattr\n)R.", "__builtin__.getattr"],
    ["\x80\x02ctorch._utils\n_rebuild_qtensor\n.", "torch._utils._rebuild_qtensor"],
    ["\x80\x02ccollections\ndefaultdict\n.", "collections.defaultdict"],
    ["\x80\x02ctorch\nTensor\n.", "torch.Tensor"],
  ] as const) {
    assert.throws(
      () => unpickle(pickle(text), "x.pth", "x/data.pkl"),
      (e: Error) => e instanceof UnsafePickleError && e.global === global && e.message.startsWith("x.pth: x/data.pkl byte 2 (opcode 0x63)"),
    );
  }
  assert.throws(() => unpickle(pickle("\x80\x02}"), "x.pth", "x/data.pkl"), /x\/data\.pkl: ends at byte 3 without the STOP opcode/);
  assert.throws(
    () => unpickle(pickle("\x80\x02ccollections\nOrderedDict\n."), "x.pth", "x/data.pkl"),
    (e: Error) => e instanceof FileFormatError && /the root is the global collections\.OrderedDict/.test(e.message),
  );
  assert.throws(
    () => unpickle(pickle("\x80\x02ctorch\nFloatStorage\n)R."), "x.pth", "x/data.pkl"),
    (e: Error) => e instanceof FileFormatError && /calls torch\.FloatStorage, which is a storage type/.test(e.message),
  );
  // What is allowed builds values: OrderedDict() with items, its _metadata state dropped by BUILD.
  const od = unpickle(pickle("\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00aK\x05u}b."), "x.pth", "x/data.pkl");
  assert.deepEqual(od, new Map([["a", 5]]));
});

test("malformed files are FileFormatErrors that say what was expected and what was found", async () => {
  const cases: Array<[string, RegExp]> = [
    ["legacy.pth", /legacy torch\.save format.*only the zip format is supported/],
    ["truncated.pth", /zip archive is unreadable \(truncated or corrupt file\?\)/],
    ["short_storage.pth", /zip entry "one_tensor\/data\/0" \(the storage of tensor "w"\) holds 16 bytes, but its 6 float32 elements need 24/],
    ["declared_short.pth", /tensor "w" .* needs elements \[0, 6\) of storage data\/0, which holds 4 float32 elements/],
    ["missing_storage.pth", /tensor "w" is in the zip entry "one_tensor\/data\/0", which the archive lacks/],
    ["compressed.pth", /zip entry "one_tensor\/data\/0" is compressed \(method 8\); expected it stored uncompressed/],
    ["no_pickle.pth", /expected a torch\.save archive with an entry "<archive>\/data\.pkl", found 2 entries: one_tensor\/data\/0, one_tensor\/version/],
    ["byteorder_big.pth", /"big"-endian .* only little-endian checkpoints are supported/],
    ["truncated_pickle.pth", /one_tensor\/data\.pkl byte \d+ .*pickle ends at byte \d+ \(truncated\?\)/],
    ["unknown_opcode.pth", /one_tensor\/data\.pkl byte 2 \(opcode 0x8f\): unsupported pickle opcode/],
  ];
  for (const [file, problem] of cases) {
    const e = await assertRejects(fixture(file), FileFormatError, problem);
    assert.ok(!(e instanceof UnsafePickleError), file);
  }
  const text = join(tmp, "notes.pth");
  writeFileSync(text, "not a checkpoint");
  await assertRejects(text, FileFormatError, /expected a torch\.save zip archive \(starting with PK\\x03\\x04\), found the bytes 6e6f7420/);
  const empty = join(tmp, "empty.pth");
  writeFileSync(empty, "");
  await assertRejects(empty, FileFormatError, /found the bytes of an empty file/);
});

test("a missing file is a MissingFileError", async () => {
  await assertRejects(join(tmp, "absent.pth"), MissingFileError, /not found/);
});
