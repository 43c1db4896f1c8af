/**
 * In-place ascending sort of float scores by LSD radix sort on their IEEE-754 bit patterns.
 * V8's `TypedArray.prototype.sort` takes ~12-17 s for 50 M values on this machine; a per-category
 * pixel set at 518 px (VisA: ~50 M pixels) needs a linear-time sort to stay practical.
 */

const DIGIT_BITS = 16;
const BUCKETS = 1 << DIGIT_BITS;
const MASK = BUCKETS - 1;

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Sorts `values` ascending in place and applies the same permutation to `payload` (if given).
 * NaN must not occur (callers validate). -0 is turned into +0, which orders and compares equal to it.
 */
export function sortScores(values: Float32Array | Float64Array, payload?: Uint32Array): void {
  const n = values.length;
  if (payload !== undefined && payload.length !== n) {
    throw new RangeError(`sortScores: payload has ${payload.length} entries, values ${n}`);
  }
  if (n < 2) return;
  if (!littleEndian) throw new RangeError("sortScores assumes a little-endian platform");
  const w = values instanceof Float64Array ? 2 : 1;
  const words = new Uint32Array(values.buffer, values.byteOffset, n * w);
  toSortableKeys(words, w);
  const pay = payload ?? new Uint32Array(0);
  const withPayload = payload !== undefined;
  let src = words;
  let dst = new Uint32Array(n * w);
  let srcPay = pay;
  let dstPay = new Uint32Array(withPayload ? n : 0);
  // Digits from least significant: 16-bit halves of the low word, then of the high word (Float64).
  for (let q = 0; q < w; q++) {
    for (const shift of [0, 16]) {
      const offsets = digitOffsets(src, w, q, shift, n);
      if (offsets === undefined) continue;
      if (w === 1) scatter1(src, dst, srcPay, dstPay, withPayload, shift, offsets);
      else scatter2(src, dst, srcPay, dstPay, withPayload, q, shift, offsets);
      [src, dst] = [dst, src];
      [srcPay, dstPay] = [dstPay, srcPay];
    }
  }
  if (src !== words) {
    words.set(src);
    if (withPayload) pay.set(srcPay);
  }
  fromSortableKeys(words, w);
}

/** Start offsets of each digit value; undefined when every key has the same digit (the pass is a no-op). */
function digitOffsets(keys: Uint32Array, w: number, q: number, shift: number, n: number): Uint32Array | undefined {
  const counts = new Uint32Array(BUCKETS);
  for (let i = q; i < keys.length; i += w) counts[(keys[i]! >>> shift) & MASK]++;
  let sum = 0;
  for (let b = 0; b < BUCKETS; b++) {
    const c = counts[b]!;
    if (c === n) return undefined;
    counts[b] = sum;
    sum += c;
  }
  return counts;
}

function scatter1(
  src: Uint32Array,
  dst: Uint32Array,
  srcPay: Uint32Array,
  dstPay: Uint32Array,
  withPayload: boolean,
  shift: number,
  offsets: Uint32Array,
): void {
  const n = src.length;
  if (withPayload) {
    for (let i = 0; i < n; i++) {
      const k = src[i]!;
      const at = offsets[(k >>> shift) & MASK]++;
      dst[at] = k;
      dstPay[at] = srcPay[i]!;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const k = src[i]!;
      dst[offsets[(k >>> shift) & MASK]++] = k;
    }
  }
}

function scatter2(
  src: Uint32Array,
  dst: Uint32Array,
  srcPay: Uint32Array,
  dstPay: Uint32Array,
  withPayload: boolean,
  q: number,
  shift: number,
  offsets: Uint32Array,
): void {
  const n = src.length >>> 1;
  for (let i = 0; i < n; i++) {
    const lo = src[2 * i]!;
    const hi = src[2 * i + 1]!;
    const at = offsets[((q === 0 ? lo : hi) >>> shift) & MASK]++;
    dst[2 * at] = lo;
    dst[2 * at + 1] = hi;
    if (withPayload) dstPay[at] = srcPay[i]!;
  }
}

/** Maps float bits to unsigned integers in the same order: flip all bits of negatives, the sign bit of positives. */
function toSortableKeys(words: Uint32Array, w: number): void {
  const n = words.length / w;
  for (let i = 0; i < n; i++) {
    const h = i * w + w - 1;
    let hi = words[h]!;
    if (hi === 0x80000000 && (w === 1 || words[h - 1] === 0)) hi = 0;
    if (hi & 0x80000000) {
      words[h] = ~hi >>> 0;
      if (w === 2) words[h - 1] = ~words[h - 1]! >>> 0;
    } else {
      words[h] = (hi | 0x80000000) >>> 0;
    }
  }
}

function fromSortableKeys(words: Uint32Array, w: number): void {
  const n = words.length / w;
  for (let i = 0; i < n; i++) {
    const h = i * w + w - 1;
    const hi = words[h]!;
    if (hi & 0x80000000) {
      words[h] = (hi & 0x7fffffff) >>> 0;
    } else {
      words[h] = ~hi >>> 0;
      if (w === 2) words[h - 1] = ~words[h - 1]! >>> 0;
    }
  }
}
