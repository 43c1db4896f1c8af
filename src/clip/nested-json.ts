/**
 * JSON text for flat float32 data seen as nested arrays (`[3][R][R]`, `[tokens][width]`, ...).
 * Each value is written in the shortest decimal that reads back as the same float32 (as the
 * reference fixtures are), which keeps files about half the size of float64 round-trip text.
 */
import { ShapeError } from "../errors.js";

export function float32Text(v: number): string {
  if (!Number.isFinite(v)) throw new ShapeError(`cannot write ${v} to JSON (non-finite value)`);
  const f = Math.fround(v);
  for (let p = 1; p < 9; p++) {
    const s = Number(f.toPrecision(p));
    if (Math.fround(s) === f) return String(s);
  }
  return String(Number(f.toPrecision(9)));
}

export function nestedJson(data: ArrayLike<number>, shape: number[], offset = 0): string {
  const size = shape.reduce((a, b) => a * b, 1);
  if (offset === 0 && data.length !== size) throw new ShapeError(`expected ${size} values for shape [${shape.join(", ")}], found ${data.length}`);
  if (shape.length === 1) {
    const parts: string[] = new Array(shape[0]!);
    for (let i = 0; i < shape[0]!; i++) parts[i] = float32Text(data[offset + i]!);
    return `[${parts.join(",")}]`;
  }
  const inner = shape.slice(1);
  const step = size / shape[0]!;
  const parts: string[] = [];
  for (let i = 0; i < shape[0]!; i++) parts.push(nestedJson(data, inner, offset + i * step));
  return `[${parts.join(",")}]`;
}
