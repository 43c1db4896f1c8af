/**
 * Reads PyTorch checkpoints written by `torch.save` (the zip format of torch >= 1.6) without Python:
 * the released SimCLIP, APRIL-GAN and AnomalyCLIP checkpoints and torchvision state dicts.
 *
 * The archive holds `<archive>/data.pkl` (the object graph, see `torch-pickle.ts` for why it is
 * interpreted rather than unpickled), `<archive>/data/<key>` (one raw little-endian storage each,
 * stored uncompressed so they can be read in place) and `<archive>/version` / `byteorder`.
 * yauzl reads the central directory (zip64 included); each storage is then read with positional
 * reads straight into its tensor's typed array, so a 1.7 GB checkpoint is never held twice in memory.
 *
 * Tensor data: float32/float16/bfloat16/float64 become `Float32Array` (float64 rounded to float32,
 * the precision the rest of the library computes in); int64 `BigInt64Array`, int32 `Int32Array`,
 * int16 `Int16Array`, int8 `Int8Array`, uint8 `Uint8Array` and bool `Uint8Array` of 0/1, exact.
 */
import { open, type FileHandle } from "node:fs/promises";
import yauzl from "yauzl";
import { FileFormatError, MissingFileError } from "../errors.js";
import { statOrUndefined } from "../fs-stat.js";
import { float16ToFloat32 } from "./float16.js";
import { type PickleMap, type PickleTree, type TorchDtype, type TorchFloatDtype, TensorRef, unpickle } from "./torch-pickle.js";
import type { WeightTensor } from "./weights.js";

export { UnsafePickleError, type PickleMap, type PickleTree, type TorchDtype, type TorchFloatDtype, type TorchIntDtype } from "./torch-pickle.js";

interface TensorDataOf {
  float32: Float32Array;
  float16: Float32Array;
  bfloat16: Float32Array;
  float64: Float32Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int16: Int16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

/**
 * A tensor of the checkpoint, C-contiguous whatever its strides were in the file. `dtype` is the
 * dtype torch saved; a float tensor (see `isFloatTensor`) is assignable to `WeightTensor`.
 */
export class TorchTensor<D extends TorchDtype = TorchDtype> {
  constructor(
    readonly dtype: D,
    readonly shape: number[],
    readonly data: TensorDataOf[D],
    /** True for an `nn.Parameter` that required grad when saved. */
    readonly requiresGrad: boolean,
  ) {}
}

/** What `readTorchCheckpoint` returns: dicts as Maps (in file order), lists and tuples as arrays. */
export type PickleValue = PickleTree<TorchTensor>;

const FLOAT_DTYPES: readonly TorchDtype[] = ["float32", "float16", "bfloat16", "float64"];

export function isFloatTensor(v: unknown): v is TorchTensor<TorchFloatDtype> {
  return v instanceof TorchTensor && FLOAT_DTYPES.includes(v.dtype);
}

const ELEMENT_BYTES: Record<TorchDtype, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

type StorageArray = Float32Array | Uint16Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** The storage's elements as they lie in the file (halves as their bits). */
const STORAGE_ARRAY: Record<TorchDtype, (n: number) => StorageArray> = {
  float32: (n) => new Float32Array(n),
  float16: (n) => new Uint16Array(n),
  bfloat16: (n) => new Uint16Array(n),
  float64: (n) => new Float64Array(n),
  int64: (n) => new BigInt64Array(n),
  int32: (n) => new Int32Array(n),
  int16: (n) => new Int16Array(n),
  int8: (n) => new Int8Array(n),
  uint8: (n) => new Uint8Array(n),
  bool: (n) => new Uint8Array(n),
};

const bf16Scratch = new Float32Array(1);
const bf16Bits = new Uint32Array(bf16Scratch.buffer);

/** Storage element -> float32 value (storing into a Float32Array rounds float64 to nearest even). */
const FLOAT_DECODE: Record<TorchFloatDtype, (x: number) => number> = {
  float32: (x) => x,
  float16: float16ToFloat32,
  bfloat16: (x) => {
    // BF16 is the top half of a float32.
    bf16Bits[0] = x << 16;
    return bf16Scratch[0]!;
  },
  float64: (x) => x,
};

/** Node's positional reads take at most 2 GiB at a time. */
const MAX_READ = 1 << 30;

/** An opened torch.save archive: the entries of `<prefix>/`, read from `fh` in place. */
class TorchArchive {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly zip: yauzl.ZipFile,
    readonly prefix: string,
    private readonly entries: Map<string, yauzl.Entry>,
  ) {}

  static async open(path: string, fh: FileHandle): Promise<TorchArchive> {
    const magic = new Uint8Array(4);
    const { bytesRead } = await fh.read(magic, 0, 4, 0);
    if (bytesRead < 4 || magic[0] !== 0x50 || magic[1] !== 0x4b || magic[2] !== 0x03 || magic[3] !== 0x04) {
      const found = Buffer.from(magic.subarray(0, bytesRead)).toString("hex");
      // The legacy format is a bare pickle stream that starts with PROTO (0x80).
      throw new FileFormatError(
        path,
        magic[0] === 0x80
          ? "legacy torch.save format (torch < 1.6 or _use_new_zipfile_serialization=False); only the zip format is supported: re-save it with torch.save(torch.load(old), new) in torch >= 1.6"
          : `expected a torch.save zip archive (starting with PK\\x03\\x04), found the bytes ${found || "of an empty file"}`,
      );
    }
    const zipError = (e: unknown) => new FileFormatError(path, `the zip archive is unreadable (truncated or corrupt file?): ${(e as Error).message}`);
    let zip: yauzl.ZipFile;
    try {
      // yauzl closes the descriptor it reads from when done, so it gets its own rather than `fh`.
      zip = await yauzl.openPromise(path, { autoClose: false });
    } catch (e) {
      throw zipError(e);
    }
    const entries = new Map<string, yauzl.Entry>();
    try {
      for await (const entry of zip.eachEntry()) entries.set(entry.fileName, entry);
    } catch (e) {
      zip.close();
      throw zipError(e);
    }
    // torch's reader takes the archive name from the first entry, whatever the file is called now.
    const first = entries.keys().next().value ?? "";
    const archive = new TorchArchive(path, fh, zip, first.split("/")[0]!, entries);
    if (!entries.has(`${archive.prefix}/data.pkl`)) {
      zip.close();
      const names = [...entries.keys()];
      throw new FileFormatError(
        path,
        `expected a torch.save archive with an entry "<archive>/data.pkl", found ${names.length} entries` +
          (names.length ? `: ${names.slice(0, 8).join(", ")}${names.length > 8 ? ", ..." : ""}` : ""),
      );
    }
    return archive;
  }

  close() {
    this.zip.close();
  }

  has(name: string): boolean {
    return this.entries.has(`${this.prefix}/${name}`);
  }

  /** Where the bytes of `<prefix>/<name>` lie in the file; `what` says in errors who needed them. */
  async locate(name: string, what: string): Promise<{ entry: string; start: number; size: number }> {
    const full = `${this.prefix}/${name}`;
    const entry = this.entries.get(full);
    if (!entry) throw new FileFormatError(this.path, `${what} is in the zip entry "${full}", which the archive lacks`);
    if (entry.compressionMethod !== 0 || entry.isEncrypted()) {
      throw new FileFormatError(
        this.path,
        `zip entry "${full}" is ${entry.isEncrypted() ? "encrypted" : `compressed (method ${entry.compressionMethod})`}; ` +
          "expected it stored uncompressed, as torch.save writes it (was the archive re-zipped?)",
      );
    }
    let start: number;
    try {
      // The local header's name and extra lengths (torch pads the extra field to align data)
      // differ from the central directory's, so only the local header says where the data starts.
      ({ fileDataStart: start } = await this.zip.readLocalFileHeaderPromise(entry, { minimal: true }));
    } catch (e) {
      throw new FileFormatError(this.path, `zip entry "${full}": ${(e as Error).message}`);
    }
    return { entry: full, start, size: entry.uncompressedSize };
  }

  async readAll(name: string, what: string): Promise<Uint8Array> {
    const { start, size } = await this.locate(name, what);
    const out = new Uint8Array(size);
    await this.readInto(out, start);
    return out;
  }

  async readInto(target: ArrayBufferView, position: number): Promise<void> {
    const bytes = new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await this.fh.read(bytes, done, Math.min(bytes.length - done, MAX_READ), position + done);
      if (bytesRead === 0) throw new FileFormatError(this.path, `file ended at byte ${position + done} while reading zip entry data (truncated?)`);
      done += bytesRead;
    }
  }
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** One past the last storage element the view touches. */
function extent(t: TensorRef): number {
  if (numel(t.shape) === 0) return t.offset;
  return t.shape.reduce((end, size, d) => end + (size - 1) * t.stride[d]!, t.offset + 1);
}

function isContiguous(t: TensorRef): boolean {
  if (numel(t.shape) === 0) return true;
  let expected = 1;
  for (let d = t.shape.length - 1; d >= 0; d--) {
    if (t.shape[d] !== 1 && t.stride[d] !== expected) return false;
    expected *= t.shape[d]!;
  }
  return true;
}

/** Copies the strided view of `src` (whose element 0 is the view's first) into C order. */
function gather<S, O>(src: { readonly [i: number]: S }, out: { [i: number]: O; length: number }, t: TensorRef, decode: (x: S) => O) {
  const { shape, stride } = t;
  if (out.length === 0) return;
  if (shape.length === 0) {
    out[0] = decode(src[0]!);
    return;
  }
  const last = shape.length - 1;
  const rowLen = shape[last]!;
  const rowStride = stride[last]!;
  const idx = new Array<number>(last).fill(0);
  let base = 0;
  for (let o = 0; o < out.length; o += rowLen) {
    for (let j = 0; j < rowLen; j++) out[o + j] = decode(src[base + j * rowStride]!);
    for (let d = last - 1; d >= 0; d--) {
      base += stride[d]!;
      if (++idx[d]! < shape[d]!) break;
      base -= stride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

async function readTensor(archive: TorchArchive, t: TensorRef, storageStart: number): Promise<TorchTensor> {
  const { dtype } = t.storage;
  const n = numel(t.shape);
  const float = FLOAT_DTYPES.includes(dtype);
  const position = storageStart + t.offset * ELEMENT_BYTES[dtype];
  if (isContiguous(t) && (dtype === "float32" || !float)) {
    const out = STORAGE_ARRAY[dtype](n);
    await archive.readInto(out, position);
    return new TorchTensor(dtype, t.shape, out as TensorDataOf[typeof dtype], t.requiresGrad);
  }
  // Converted or strided: read the span the view covers, then decode / gather it.
  const src = STORAGE_ARRAY[dtype](extent(t) - t.offset);
  await archive.readInto(src, position);
  if (float) {
    const out = new Float32Array(n);
    gather(src as Float32Array | Uint16Array | Float64Array, out, t, FLOAT_DECODE[dtype as TorchFloatDtype]);
    return new TorchTensor(dtype, t.shape, out, t.requiresGrad);
  }
  const out = STORAGE_ARRAY[dtype](n);
  gather<number | bigint, number | bigint>(src, out, t, (x) => x);
  return new TorchTensor(dtype, t.shape, out as TensorDataOf[typeof dtype], t.requiresGrad);
}

/** Every tensor of the tree with the first path (keys joined by ".") it was found at. */
function collectTensors(root: PickleTree<TensorRef>): Map<TensorRef, string> {
  const found = new Map<TensorRef, string>();
  const seen = new Set<object>();
  const visit = (v: PickleTree<TensorRef>, where: string) => {
    if (v instanceof TensorRef) {
      if (!found.has(v)) found.set(v, where || "(root)");
    } else if (typeof v === "object" && v !== null && !seen.has(v)) {
      seen.add(v);
      const join = (k: string | number) => (where ? `${where}.${k}` : String(k));
      if (Array.isArray(v))
        v.forEach((x, i) => {
          visit(x, join(i));
        });
      else for (const [k, x] of v) visit(x, join(k));
    }
  };
  visit(root, "");
  return found;
}

/** Reads every storage the tree refers to, once, and returns the tree with tensors in place of refs. */
async function materialize(archive: TorchArchive, root: PickleTree<TensorRef>): Promise<PickleValue> {
  const byKey = new Map<string, [TensorRef, string][]>();
  for (const [t, name] of collectTensors(root)) {
    const list = byKey.get(t.storage.key) ?? [];
    list.push([t, name]);
    byKey.set(t.storage.key, list);
  }
  const tensors = new Map<TensorRef, TorchTensor>();
  for (const [key, list] of byKey) {
    const [first, firstName] = list[0]!;
    const { dtype, numel: declared } = first.storage;
    const bytes = ELEMENT_BYTES[dtype];
    for (const [t, name] of list) {
      if (t.storage.dtype !== dtype) {
        throw new FileFormatError(archive.path, `storage data/${key} is ${dtype} for tensor "${firstName}" but ${t.storage.dtype} for tensor "${name}"`);
      }
      const end = extent(t);
      if (end > declared) {
        throw new FileFormatError(
          archive.path,
          `tensor "${name}" (shape [${t.shape.join(", ")}], stride [${t.stride.join(", ")}], offset ${t.offset}) needs elements [${t.offset}, ${end}) ` +
            `of storage data/${key}, which holds ${declared} ${dtype} elements`,
        );
      }
    }
    const { entry, start, size } = await archive.locate(`data/${key}`, `the data of tensor "${firstName}"`);
    if (size < declared * bytes) {
      throw new FileFormatError(
        archive.path,
        `zip entry "${entry}" (the storage of tensor "${firstName}") holds ${size} bytes, but its ${declared} ${dtype} ` +
          `elements need ${declared * bytes} (truncated or corrupt archive)`,
      );
    }
    for (const [t] of list) tensors.set(t, await readTensor(archive, t, start));
  }
  const done = new Map<object, PickleValue>();
  const rebuild = (v: PickleTree<TensorRef>): PickleValue => {
    if (v instanceof TensorRef) return tensors.get(v)!;
    if (typeof v !== "object" || v === null) return v;
    const copied = done.get(v);
    if (copied !== undefined) return copied;
    if (Array.isArray(v)) {
      const out: PickleValue[] = [];
      done.set(v, out);
      for (const x of v) out.push(rebuild(x));
      return out;
    }
    const out = new Map<string | number, PickleValue>();
    done.set(v, out);
    for (const [k, x] of v as PickleMap<TensorRef>) out.set(k, rebuild(x));
    return out;
  };
  return rebuild(root);
}

/**
 * The object a `torch.save` file holds: a state dict is a Map of TorchTensors, `{'clip': sd}` a Map
 * holding that Map. Throws MissingFileError for a missing file, UnsafePickleError for a pickle that
 * names any global beyond OrderedDict / tensors / storages, and FileFormatError for anything else
 * that is not a well-formed little-endian zip checkpoint.
 */
export async function readTorchCheckpoint(path: string): Promise<PickleValue> {
  if (!(await statOrUndefined(path))) throw new MissingFileError(path, "PyTorch checkpoint (.pth) not found");
  const fh = await open(path, "r");
  try {
    const archive = await TorchArchive.open(path, fh);
    try {
      if (archive.has("byteorder")) {
        const order = new TextDecoder().decode(await archive.readAll("byteorder", "the byte order")).trim();
        if (order !== "little") {
          throw new FileFormatError(
            path,
            `storages are ${JSON.stringify(order)}-endian (zip entry "${archive.prefix}/byteorder"); only little-endian checkpoints are supported`,
          );
        }
      }
      const pkl = await archive.readAll("data.pkl", "the pickled object");
      return await materialize(archive, unpickle(pkl, path, `${archive.prefix}/data.pkl`));
    } finally {
      archive.close();
    }
  } finally {
    await fh.close();
  }
}

function describeValue(v: PickleValue): string {
  if (v instanceof TorchTensor) return `a ${v.dtype} tensor`;
  if (v instanceof Map) return "a dict";
  if (Array.isArray(v)) return "a list/tuple";
  return v === null ? "None" : `${typeof v} ${typeof v === "string" ? JSON.stringify(v) : String(v)}`;
}

/**
 * The float tensors of a state dict, keyed by their state-dict names: `root[key]` when `key` is
 * given (e.g. "clip", "trainable_linearlayer", "prompt_learner"), else `root`; nested dicts are
 * flattened with ".". Any other value is an error naming it, except that `skipIntegerTensors`
 * drops integer tensors (BatchNorm's int64 `num_batches_tracked`, unused for inference).
 */
export function torchStateDict(root: PickleValue, path: string, key?: string, options: { skipIntegerTensors?: boolean } = {}): Map<string, WeightTensor> {
  const topKeys = (m: Map<string | number, PickleValue>) => [...m.keys()].map((k) => JSON.stringify(k)).join(", ") || "none";
  let dict: PickleValue = root;
  if (key !== undefined) {
    if (!(root instanceof Map)) throw new FileFormatError(path, `expected a dict with the key "${key}", found ${describeValue(root)} at the top level`);
    if (!root.has(key)) throw new FileFormatError(path, `expected the key "${key}" in the checkpoint; its top-level keys are ${topKeys(root)}`);
    dict = root.get(key)!;
  }
  const where = key === undefined ? "the checkpoint" : `"${key}"`;
  if (!(dict instanceof Map)) {
    throw new FileFormatError(
      path,
      `expected ${where} to be a state dict, found ${describeValue(dict)}${root instanceof Map ? `; the top-level keys are ${topKeys(root)}` : ""}`,
    );
  }
  const out = new Map<string, WeightTensor>();
  const ancestors = new Set<object>();
  const flatten = (m: Map<string | number, PickleValue>, prefix: string) => {
    if (ancestors.has(m)) throw new FileFormatError(path, `state dict ${where} contains itself at "${prefix.slice(0, -1)}"`);
    ancestors.add(m);
    for (const [k, v] of m) {
      const name = `${prefix}${k}`;
      if (v instanceof Map) flatten(v, `${name}.`);
      else if (isFloatTensor(v)) out.set(name, { data: v.data, shape: v.shape });
      else if (!(options.skipIntegerTensors && v instanceof TorchTensor)) {
        throw new FileFormatError(path, `state dict ${where}: expected "${name}" to be a floating-point tensor, found ${describeValue(v)}`);
      }
    }
    ancestors.delete(m);
  };
  flatten(dict, "");
  return out;
}
