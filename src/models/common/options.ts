/** Parsing of the option values `simclip train/eval/predict` share, with messages that say what to type. */
import { InvalidArgumentError } from "../../errors.js";

export function parsePositiveInt(flag: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`--${flag} must be a positive integer; got "${v}"`);
    return Number(v);
  };
}

export function parseNonNegativeInt(flag: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`--${flag} must be a non-negative integer; got "${v}"`);
    return Number(v);
  };
}

export function parsePositiveNumber(flag: string): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (!(x > 0) || !Number.isFinite(x)) throw new InvalidArgumentError(`--${flag} must be a positive number; got "${v}"`);
    return x;
  };
}

export function parseLayerList(v: string): number[] {
  const parts = v.split(",").map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1)) {
    throw new InvalidArgumentError(`--layers must be comma-separated 1-based block indices like 6,12,18,24; got "${v}"`);
  }
  return parts.map(Number);
}

export function parseNameList(v: string): string[] {
  return v.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}
