/**
 * IEEE 754 binary16 <-> float32 for the cache's blobs. Node 20 has no Float16Array. Half precision
 * halves the disk and read cost of frozen features (relative error <= 2^-11, far below what changes
 * an anomaly map); values beyond fp16's range (|x| > 65504) are an error, never a silent infinity.
 */
import { InvalidArgumentError } from "../errors.js";
import { float16ToFloat32, float32BitsToFloat16 } from "../clip/float16.js";

/** float32 -> binary16 bits. `where` names the tensor in the error if a finite value overflows. */
export function toFloat16(src: Float32Array, where: string, out = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i]!;
    const e = (x >>> 23) & 0xff;
    // Fast path, inlined: results that are normal halves (float32 exponent 113..142).
    if (e > 112 && e < 143) {
      const rem = x & 0x1fff;
      let h = ((x >>> 16) & 0x8000) | ((e - 112) << 10) | ((x >>> 13) & 0x3ff);
      if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
      if ((h & 0x7c00) === 0x7c00) overflow(src, i, where);
      out[i] = h;
    } else {
      const h = float32BitsToFloat16(x);
      if ((h & 0x7fff) === 0x7c00 && Number.isFinite(src[i]!)) overflow(src, i, where);
      out[i] = h;
    }
  }
  return out;
}

function overflow(src: Float32Array, i: number, where: string): never {
  throw new InvalidArgumentError(`${where}: value ${src[i]} at index ${i} is outside the float16 range (|x| <= 65504) the feature cache stores`);
}

let table: Float32Array | undefined;

/** All 65536 half values as float32: decoding is one lookup per element (measured no slower than bit twiddling). */
function decodeTable(): Float32Array {
  if (table) return table;
  table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = float16ToFloat32(h);
  return table;
}

export function fromFloat16(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const t = decodeTable();
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]!]!;
  return out;
}
