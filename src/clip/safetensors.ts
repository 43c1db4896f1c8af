/**
 * The safetensors format, read and written with plain fs: 8-byte little-endian header length N,
 * N bytes of JSON header ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}),
 * then the raw little-endian tensor bytes (offsets relative to the end of the header).
 *
 * Reading validates the whole header before touching data and converts F16/BF16 to float32 while
 * reading, so a 1.7 GB ViT-L checkpoint never exists twice in memory: each tensor is read with
 * positional reads straight into its own Float32Array (F32) or through a small chunk buffer (F16/BF16).
 */
import { createHash } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { FileFormatError, InvalidArgumentError, MissingFileError } from "../errors.js";
import { statOrUndefined } from "../fs-stat.js";
import type { WeightTensor } from "./weights.js";
import { float16ToFloat32, float32ToFloat16 } from "./float16.js";

export { float16ToFloat32, float32ToFloat16 };

export type SafetensorsDtype = "F32" | "F16" | "BF16";

const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** The safetensors reference implementation refuses headers above 100 MB; so do we. */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range relative to the start of the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  path: string;
  fileSize: number;
  /** Absolute file offset of the data section (8 + header length). */
  dataStart: number;
  /** Entries in header order. */
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
}

export interface SafetensorsContents {
  tensors: Map<string, WeightTensor>;
  metadata: Record<string, string>;
  /** sha256 of the file's bytes (hex), when `sha256: true` was asked for. */
  sha256?: string;
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Reads and validates the header; throws FileFormatError naming the file and the tensor at fault. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const st = await statOrUndefined(path);
  if (!st) throw new MissingFileError(path, "safetensors file not found");
  const fileSize = st.size;
  const fh = await open(path, "r");
  try {
    const bad = (detail: string): never => {
      throw new FileFormatError(path, `not a valid safetensors file: ${detail}`);
    };
    if (fileSize < 8) bad(`file is ${fileSize} bytes, shorter than the 8-byte header length`);
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    const headerLen = lenBuf.readBigUInt64LE(0);
    if (headerLen > BigInt(fileSize - 8)) {
      bad(`header length ${headerLen} exceeds the ${fileSize - 8} bytes that follow it (truncated file?)`);
    }
    const n = Number(headerLen);
    if (n > MAX_HEADER_BYTES) bad(`header length ${n} is above the ${MAX_HEADER_BYTES}-byte limit`);
    const headerBuf = Buffer.alloc(n);
    await fh.read(headerBuf, 0, n, 8);
    let json: unknown;
    try {
      json = JSON.parse(headerBuf.toString("utf8"));
    } catch (e) {
      bad(`header is not valid JSON (${(e as Error).message})`);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) bad("header is not a JSON object");
    const dataStart = 8 + n;
    const dataSize = fileSize - dataStart;
    const entries: SafetensorsEntry[] = [];
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
      if (name === "__metadata__") {
        if (typeof raw !== "object" || raw === null || Array.isArray(raw)) bad("__metadata__ is not an object");
        metadata = Object.fromEntries(Object.entries(raw as object).map(([k, v]) => [k, String(v)]));
        continue;
      }
      const where = `tensor "${name}"`;
      if (typeof raw !== "object" || raw === null) bad(`${where}: entry is not an object`);
      const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
      if (dtype !== "F32" && dtype !== "F16" && dtype !== "BF16") {
        bad(`${where}: unsupported dtype ${JSON.stringify(dtype)}; expected F32, F16 or BF16`);
      }
      if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
        bad(`${where}: shape must be a list of non-negative integers, found ${JSON.stringify(shape)}`);
      }
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt) || offsets[0]! > offsets[1]!) {
        bad(`${where}: data_offsets must be [begin, end] with 0 <= begin <= end, found ${JSON.stringify(offsets)}`);
      }
      const [begin, end] = offsets as [number, number];
      if (end > dataSize) {
        bad(`${where}: data_offsets [${begin}, ${end}] lie outside the ${dataSize}-byte data section (truncated file?)`);
      }
      const dt = dtype as SafetensorsDtype;
      const expected = numel(shape as number[]) * DTYPE_BYTES[dt];
      if (end - begin !== expected) {
        bad(`${where}: shape ${JSON.stringify(shape)} x ${dt} needs ${expected} bytes but data_offsets span ${end - begin}`);
      }
      entries.push({ name, dtype: dt, shape: shape as number[], begin, end });
    }
    const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      const cur = sorted[i]!;
      if (cur.begin < prev.end) {
        bad(`tensors "${prev.name}" [${prev.begin}, ${prev.end}] and "${cur.name}" [${cur.begin}, ${cur.end}] have overlapping byte ranges`);
      }
    }
    return { path, fileSize, dataStart, entries, metadata };
  } finally {
    await fh.close();
  }
}

/** Chunk size for F16/BF16 conversion and for hashing gaps. */
const CHUNK = 1 << 22;

/**
 * Reads tensors (all, or those `filter` accepts) as float32. With `sha256: true` the whole file is
 * hashed during the same sequential pass (tensors are read in file order), which is the model
 * fingerprint `weights.ts` reports.
 */
export async function readSafetensorsWithMetadata(
  path: string,
  opts: { sha256?: boolean; filter?: (name: string) => boolean } = {},
): Promise<SafetensorsContents> {
  const header = await readSafetensorsHeader(path);
  const hash = opts.sha256 ? createHash("sha256") : undefined;
  const tensors = new Map<string, WeightTensor>();
  const fh = await open(path, "r");
  try {
    const readExact = async (buf: Uint8Array, pos: number) => {
      let done = 0;
      while (done < buf.byteLength) {
        const { bytesRead } = await fh.read(buf, done, buf.byteLength - done, pos + done);
        if (bytesRead === 0) throw new FileFormatError(path, `file ended while reading at byte ${pos + done}`);
        done += bytesRead;
      }
      hash?.update(buf);
    };
    const skip = async (from: number, to: number) => {
      if (!hash) return;
      const buf = Buffer.alloc(Math.min(CHUNK, Math.max(to - from, 0)));
      for (let p = from; p < to; p += CHUNK) await readExact(buf.subarray(0, Math.min(CHUNK, to - p)), p);
    };
    await skip(0, header.dataStart);
    let pos = header.dataStart;
    const ordered = [...header.entries].sort((a, b) => a.begin - b.begin);
    for (const e of ordered) {
      const start = header.dataStart + e.begin;
      const end = header.dataStart + e.end;
      await skip(pos, start);
      pos = end;
      const wanted = !opts.filter || opts.filter(e.name);
      if (!wanted) {
        await skip(start, end);
        continue;
      }
      const out = new Float32Array(numel(e.shape));
      if (e.dtype === "F32") {
        // Safetensors data is little-endian, as is every platform Node ships prebuilt binaries for.
        await readExact(new Uint8Array(out.buffer), start);
      } else {
        const buf = Buffer.alloc(Math.min(CHUNK, e.end - e.begin));
        for (let p = 0; p < e.end - e.begin; p += CHUNK) {
          const len = Math.min(CHUNK, e.end - e.begin - p);
          const view = buf.subarray(0, len);
          await readExact(view, start + p);
          const halves = new Uint16Array(view.buffer, view.byteOffset, len / 2);
          const base = p / 2;
          if (e.dtype === "F16") {
            for (let i = 0; i < halves.length; i++) out[base + i] = float16ToFloat32(halves[i]!);
          } else {
            // BF16 is the top half of a float32.
            const bits = new Uint32Array(out.buffer, base * 4, halves.length);
            for (let i = 0; i < halves.length; i++) bits[i] = halves[i]! << 16;
          }
        }
      }
      tensors.set(e.name, { data: out, shape: e.shape });
    }
    await skip(pos, header.fileSize);
  } finally {
    await fh.close();
  }
  const result: SafetensorsContents = { tensors, metadata: header.metadata };
  if (hash) result.sha256 = hash.digest("hex");
  return result;
}

/** Reads every tensor of a safetensors file as float32 (F16/BF16 converted). */
export async function readSafetensors(path: string): Promise<Map<string, WeightTensor>> {
  return (await readSafetensorsWithMetadata(path)).tensors;
}

/**
 * Writes tensors (in iteration order) as F32, or F16 with `dtype: "F16"` (round to nearest even).
 * The file is written to a temporary name and renamed, so a reader never sees a partial file.
 */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, WeightTensor> | Record<string, WeightTensor>,
  metadata: Record<string, string> = {},
  opts: { dtype?: "F32" | "F16" } = {},
): Promise<void> {
  const dtype = opts.dtype ?? "F32";
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of list) {
    if (name === "__metadata__") throw new InvalidArgumentError(`tensor name "__metadata__" is reserved by safetensors`);
    if (numel(t.shape) !== t.data.length) {
      throw new InvalidArgumentError(`tensor "${name}": shape ${JSON.stringify(t.shape)} has ${numel(t.shape)} elements but data has ${t.data.length}`);
    }
    const bytes = t.data.length * DTYPE_BYTES[dtype];
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  json += " ".repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(headerBytes.length));
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fh = await open(tmp, "w");
  try {
    await fh.write(lenBuf);
    await fh.write(headerBytes);
    for (const [, t] of list) {
      const src = t.data;
      if (dtype === "F32") {
        await fh.write(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
      } else {
        for (let p = 0; p < src.length; p += CHUNK) {
          const part = src.subarray(p, Math.min(src.length, p + CHUNK));
          const halves = new Uint16Array(part.length);
          for (let i = 0; i < part.length; i++) halves[i] = float32ToFloat16(part[i]!);
          await fh.write(new Uint8Array(halves.buffer));
        }
      }
    }
    await fh.close();
    await rename(tmp, path);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
