/**
 * One cache entry = one file: a small header, then fp16 sections (one per layer, then the pooled
 * token). Layout (little-endian):
 *   "SCFC" | u32 version | u32 n = header JSON bytes | header JSON | u32 crc32(header JSON) | sections...
 * The header records each section's offset, byte length and crc32 and the total file length, so a
 * truncated or corrupted entry is detected on read; sections are read individually (a caller that
 * wants one layer reads one layer, never the whole entry).
 */
import type { FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { FileFormatError, ShapeError } from "../errors.js";
import { fromFloat16, toFloat16 } from "./fp16.js";
import type { ImageFeatures } from "./source.js";

const MAGIC = "SCFC";
const VERSION = 1;
const PREAMBLE = 12;

export interface EntryHeader {
  sourceId: string;
  contentHash: string;
  grid: number;
  width: number;
  totalBytes: number;
  /** layer "pooled" holds the [W] pooled token; numbers are [P, W] patch-token layers. */
  sections: { layer: number | "pooled"; offset: number; bytes: number; crc32: number }[];
}

/** Thrown for entries that exist but cannot be trusted; the cache recomputes them. */
export class CorruptEntryError extends FileFormatError {
  override name = "CorruptEntryError";
}

export function encodeEntry(f: ImageFeatures, sourceId: string, contentHash: string, layers: number[]): Buffer {
  const P = f.grid * f.grid;
  const parts: Buffer[] = [];
  const sections: EntryHeader["sections"] = [];
  const add = (layer: number | "pooled", data: Float32Array | undefined, expected: number) => {
    if (data === undefined) throw new ShapeError(`features of ${contentHash}: layer ${layer} missing (the source must return layers ${layers.join(", ")})`);
    if (data.length !== expected)
      throw new ShapeError(`features of ${contentHash}: layer ${layer} has ${data.length} values, expected ${expected} (grid ${f.grid}, width ${f.width})`);
    const half = toFloat16(data, `features of ${contentHash}, layer ${layer}`);
    const buf = Buffer.from(half.buffer, half.byteOffset, half.byteLength);
    sections.push({ layer, offset: 0, bytes: buf.length, crc32: crc32(buf) });
    parts.push(buf);
  };
  for (const l of layers) add(l, f.patchTokens.get(l), P * f.width);
  add("pooled", f.pooled, f.width);
  // Offsets depend on the header's own length: fix them point by point until stable (2 rounds at most).
  let json = "";
  for (let round = 0; round < 4; round++) {
    let offset = PREAMBLE + Buffer.byteLength(json) + 4;
    for (const s of sections) {
      s.offset = offset;
      offset += s.bytes;
    }
    const header: EntryHeader = { sourceId, contentHash, grid: f.grid, width: f.width, totalBytes: offset, sections };
    const next = JSON.stringify(header);
    if (next === json) break;
    json = next;
  }
  const head = Buffer.alloc(PREAMBLE);
  head.write(MAGIC, 0, "latin1");
  head.writeUInt32LE(VERSION, 4);
  const jsonBuf = Buffer.from(json);
  head.writeUInt32LE(jsonBuf.length, 8);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32(jsonBuf));
  return Buffer.concat([head, jsonBuf, crc, ...parts]);
}

/** Read and validate an entry's header (and its length against the file's); throws CorruptEntryError. */
export async function readEntryHeader(fh: FileHandle, file: string): Promise<EntryHeader> {
  const { size } = await fh.stat();
  const pre = Buffer.alloc(PREAMBLE);
  if (size < PREAMBLE || (await fh.read(pre, 0, PREAMBLE, 0)).bytesRead !== PREAMBLE)
    throw new CorruptEntryError(file, `truncated: ${size} bytes, shorter than the header`);
  if (pre.toString("latin1", 0, 4) !== MAGIC) throw new CorruptEntryError(file, "not a simclip feature-cache entry (bad magic)");
  if (pre.readUInt32LE(4) !== VERSION) throw new CorruptEntryError(file, `entry version ${pre.readUInt32LE(4)}, this simclip reads version ${VERSION}`);
  const n = pre.readUInt32LE(8);
  if (PREAMBLE + n + 4 > size) throw new CorruptEntryError(file, `truncated inside the header (${size} bytes)`);
  const buf = Buffer.alloc(n + 4);
  await fh.read(buf, 0, n + 4, PREAMBLE);
  if (crc32(buf.subarray(0, n)) !== buf.readUInt32LE(n)) throw new CorruptEntryError(file, "header checksum mismatch");
  let header: EntryHeader;
  try {
    header = JSON.parse(buf.toString("utf8", 0, n)) as EntryHeader;
  } catch {
    throw new CorruptEntryError(file, "header is not valid JSON");
  }
  if (header.totalBytes !== size) throw new CorruptEntryError(file, `truncated or padded: ${size} bytes, the header says ${header.totalBytes}`);
  return header;
}

/** Decode the requested layers (and the pooled token) of an open entry, verifying each section's crc32. */
export async function readEntrySections(fh: FileHandle, file: string, header: EntryHeader, layers: number[]): Promise<ImageFeatures> {
  const read = async (layer: number | "pooled"): Promise<Float32Array> => {
    const s = header.sections.find((x) => x.layer === layer);
    if (s === undefined) throw new ShapeError(`${file}: the entry has no layer ${layer} (it holds ${header.sections.map((x) => x.layer).join(", ")})`);
    const half = new Uint16Array(s.bytes / 2);
    const { bytesRead } = await fh.read(half, 0, s.bytes, s.offset);
    if (bytesRead !== s.bytes || crc32(half) !== s.crc32) throw new CorruptEntryError(file, `section ${layer}: checksum mismatch`);
    return fromFloat16(half);
  };
  const patchTokens = new Map<number, Float32Array>();
  for (const l of layers) patchTokens.set(l, await read(l));
  return { patchTokens, pooled: await read("pooled"), grid: header.grid, width: header.width };
}
