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

/** `data` (exactly prod(shape) values) as nested JSON arrays of the given shape. */
export function nestedJson(data: ArrayLike<number>, shape: number[]): string {
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) throw new ShapeError(`expected ${size} values for shape [${shape.join(", ")}], found ${data.length}`);
  return nested(data, shape, 0, size);
}

function nested(data: ArrayLike<number>, shape: number[], offset: number, size: number): string {
  const parts: string[] = new Array(shape[0]!);
  if (shape.length === 1) {
    for (let i = 0; i < shape[0]!; i++) parts[i] = float32Text(data[offset + i]!);
  } else {
    const step = size / shape[0]!;
    for (let i = 0; i < shape[0]!; i++) parts[i] = nested(data, shape.slice(1), offset + i * step, step);
  }
  return `[${parts.join(",")}]`;
}
