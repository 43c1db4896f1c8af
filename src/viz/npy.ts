/**
 * NumPy's `.npy` format (version 1.0) for float32 arrays, so that maps written here load with
 * `np.load` and maps written by the reference Python code load here: the magic `\x93NUMPY`, version
 * bytes, a little-endian uint16 header length, an ASCII dict header padded with spaces to a multiple
 * of 64 bytes and ending in a newline, then the raw little-endian C-order data.
 */
import { readFile } from "node:fs/promises";
import { FileFormatError, ShapeError } from "../errors.js";

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

export interface NpyArray {
  data: Float32Array;
  shape: number[];
}

/** A float32 array as the bytes of a `.npy` file. */
export function encodeNpy(data: Float32Array, shape: number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new ShapeError(`encodeNpy: shape [${shape}] holds ${count} values, the data has ${data.length}`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += `${" ".repeat((64 - (unpadded % 64)) % 64)}\n`;
  const prefix = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(prefix);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([prefix, Buffer.from(header, "latin1"), body]);
}

/** Parses a little-endian float32 (`<f4`) or float64 (`<f8`, converted) C-order `.npy` file. */
export function decodeNpy(bytes: Buffer, where = "npy data"): NpyArray {
  const bad = (detail: string): never => {
    throw new FileFormatError(where, `not a float .npy array this reader supports: ${detail}`);
  };
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(MAGIC)) bad("missing the \\x93NUMPY magic");
  const major = bytes[6]!;
  const lenBytes = major === 1 ? 2 : 4;
  const headerLen = lenBytes === 2 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = 8 + lenBytes + headerLen;
  if (start > bytes.length) bad(`header of ${headerLen} bytes runs past the end of the ${bytes.length}-byte file`);
  const header = bytes.subarray(8 + lenBytes, start).toString("latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  if (/'fortran_order':\s*True/.test(header)) bad("Fortran order");
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || shapeText === undefined) bad(`header ${JSON.stringify(header.trim())} has no descr or shape`);
  const shape = shapeText!
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const itemSize = descr === "<f4" ? 4 : descr === "<f8" ? 8 : bad(`dtype ${descr} (expected <f4 or <f8)`);
  if (bytes.length - start !== count * itemSize) bad(`shape (${shape}) needs ${count * itemSize} data bytes, found ${bytes.length - start}`);
  const body = bytes.subarray(start);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = itemSize === 4 ? body.readFloatLE(i * 4) : body.readDoubleLE(i * 8);
  return { data, shape };
}

export async function readNpy(path: string): Promise<NpyArray> {
  return decodeNpy(await readFile(path), path);
}
