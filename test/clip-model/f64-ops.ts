/**
 * A plain-JS float64 executor of `ClipOps`, independent of both production executors: the reference
 * function for finite-difference checks of the onnxruntime gradients (in float64 a central difference
 * is accurate to ~1e-9, so the float32 gradients can be held to 1e-5).
 */
import type { ClipOps } from "../../src/clip/ops.js";
import type { WeightTensor } from "../../src/clip/weights.js";

export interface F64 {
  data: Float64Array;
  shape: number[];
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const strides = (s: number[]) => s.map((_, i) => size(s.slice(i + 1)));

/** Index into a tensor of shape `from` (right-aligned, broadcast) for multi-index `idx` of shape `to`. */
function broadcastOffset(idx: number[], from: number[]): number {
  const st = strides(from);
  const lead = idx.length - from.length;
  let off = 0;
  for (let i = 0; i < from.length; i++) off += (from[i] === 1 ? 0 : idx[lead + i]!) * st[i]!;
  return off;
}

function broadcastShape(a: number[], b: number[]): number[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => {
    const x = a[a.length - r + i] ?? 1,
      y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`f64: [${a}] and [${b}] do not broadcast`);
    return x === 1 ? y : x;
  });
}

function unravel(flat: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i]!;
    flat = Math.floor(flat / shape[i]!);
  }
  return idx;
}

function binary(a: F64, b: F64, f: (x: number, y: number) => number): F64 {
  const shape = broadcastShape(a.shape, b.shape);
  const data = new Float64Array(size(shape));
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, shape);
    data[i] = f(a.data[broadcastOffset(idx, a.shape)]!, b.data[broadcastOffset(idx, b.shape)]!);
  }
  return { data, shape };
}

const unary = (x: F64, f: (v: number) => number): F64 => ({ data: x.data.map(f), shape: x.shape });

/** erf to ~1e-15: its Taylor series below 3, the continued fraction of erfc above. */
export function erf64(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax,
      sum = ax;
    for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-ax * ax) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  return Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f);
}

/** Apply `f` to each row (last axis) of x. */
function rows(x: F64, f: (row: Float64Array) => Float64Array): F64 {
  const n = x.shape[x.shape.length - 1]!;
  const data = new Float64Array(x.data.length);
  for (let r = 0; r < x.data.length; r += n) data.set(f(x.data.subarray(r, r + n)), r);
  return { data, shape: x.shape };
}

export class F64ClipOps implements ClipOps<F64> {
  private readonly constants = new Map<string, F64>();

  constant(key: string, make: () => WeightTensor): F64 {
    let c = this.constants.get(key);
    if (!c) {
      const w = make();
      c = { data: Float64Array.from(w.data), shape: w.shape };
      this.constants.set(key, c);
    }
    return c;
  }
  matmul(a: F64, b: F64): F64 {
    const [m, k] = a.shape.slice(-2) as [number, number];
    const n = b.shape[b.shape.length - 1]!;
    const lead = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const shape = [...lead, m, n];
    const data = new Float64Array(size(shape));
    for (let l = 0; l < size(lead); l++) {
      const idx = unravel(l, lead);
      const ao = broadcastOffset(idx, a.shape.slice(0, -2)) * m * k;
      const bo = broadcastOffset(idx, b.shape.slice(0, -2)) * k * n;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let t = 0; t < k; t++) s += a.data[ao + i * k + t]! * b.data[bo + t * n + j]!;
          data[l * m * n + i * n + j] = s;
        }
    }
    return { data, shape };
  }
  add(a: F64, b: F64): F64 {
    return binary(a, b, (x, y) => x + y);
  }
  mul(a: F64, b: F64): F64 {
    return binary(a, b, (x, y) => x * y);
  }
  sigmoid(x: F64): F64 {
    return unary(x, (v) => 1 / (1 + Math.exp(-v)));
  }
  erf(x: F64): F64 {
    return unary(x, erf64);
  }
  layerNorm(x: F64, gamma: F64, beta: F64, eps: number): F64 {
    return rows(x, (r) => {
      const mean = r.reduce((a, v) => a + v, 0) / r.length;
      const variance = r.reduce((a, v) => a + (v - mean) ** 2, 0) / r.length;
      return r.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * gamma.data[i]! + beta.data[i]!);
    });
  }
  softmax(x: F64): F64 {
    return rows(x, (r) => {
      const max = Math.max(...r);
      const e = r.map((v) => Math.exp(v - max));
      const s = e.reduce((a, v) => a + v, 0);
      return e.map((v) => v / s);
    });
  }
  reshape(x: F64, shape: number[]): F64 {
    const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
    return { data: x.data, shape: shape.map((d) => (d === -1 ? x.data.length / known : d)) };
  }
  transpose(x: F64, perm: number[]): F64 {
    const shape = perm.map((p) => x.shape[p]!);
    const st = strides(x.shape);
    const data = new Float64Array(x.data.length);
    for (let i = 0; i < data.length; i++) {
      const idx = unravel(i, shape);
      data[i] = x.data[perm.reduce((o, p, j) => o + idx[j]! * st[p]!, 0)]!;
    }
    return { data, shape };
  }
  pad(x: F64, before: number[], after: number[]): F64 {
    const shape = x.shape.map((d, i) => d + before[i]! + after[i]!);
    const data = new Float64Array(size(shape));
    const st = strides(shape);
    for (let i = 0; i < x.data.length; i++) data[unravel(i, x.shape).reduce((o, v, j) => o + (v + before[j]!) * st[j]!, 0)] = x.data[i]!;
    return { data, shape };
  }
  slice(x: F64, axis: number, start: number, end: number): F64 {
    const shape = x.shape.map((d, i) => (i === axis ? end - start : d));
    const st = strides(x.shape);
    const data = new Float64Array(size(shape));
    for (let i = 0; i < data.length; i++) data[i] = x.data[unravel(i, shape).reduce((o, v, j) => o + (j === axis ? v + start : v) * st[j]!, 0)]!;
    return { data, shape };
  }
  gather(table: F64, ids: F64): F64 {
    const d = table.shape[1]!;
    const data = new Float64Array(ids.data.length * d);
    ids.data.forEach((id, i) => {
      data.set(table.data.subarray(id * d, (id + 1) * d), i * d);
    });
    return { data, shape: [...ids.shape, d] };
  }
}
