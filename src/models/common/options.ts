/** Parsing of the option values `simclip train/eval/predict` share, with messages that say what to type. */
import type { Command } from "commander";
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

/**
 * Per-method options (SimCLIP+'s Table 6 switches and the like): each method declares a schema; the
 * library (`MethodContext.options`, typed values) and the CLI (`--option key=value`, strings) are
 * both checked against it, so an unknown key or a bad value fails with the list of valid ones
 * instead of being ignored.
 */
export type MethodOptionValue = boolean | number | string;
export type MethodOptions = Record<string, MethodOptionValue>;

export type MethodOptionSpec =
  | { type: "boolean"; default: boolean; description: string }
  | { type: "enum"; values: readonly string[]; default: string; description: string }
  | { type: "number"; default: number; description: string; integer?: boolean; min?: number; max?: number };

export type MethodOptionSchema = Readonly<Record<string, MethodOptionSpec>>;

function describeSpec(key: string, s: MethodOptionSpec): string {
  const kind = s.type === "enum" ? s.values.join("|") : s.type === "number" ? (s.integer ? "integer" : "number") : "true|false";
  return `${key}=${kind} (default ${s.default}: ${s.description})`;
}

/** "valid keys: ..." for error messages and `--help`. */
export function describeMethodOptions(method: string, schema: MethodOptionSchema): string {
  const keys = Object.keys(schema);
  if (keys.length === 0) return `method "${method}" takes no options`;
  return `options of method "${method}": ${keys.map((k) => describeSpec(k, schema[k]!)).join("; ")}`;
}

function coerceOption(method: string, schema: MethodOptionSchema, key: string, value: unknown): MethodOptionValue {
  const spec = schema[key]!;
  const bad = (expected: string): never => {
    throw new InvalidArgumentError(`method "${method}" option ${key} must be ${expected}; got ${JSON.stringify(value)}`);
  };
  switch (spec.type) {
    case "boolean":
      if (typeof value === "boolean") return value;
      if (value === "true" || value === "false") return value === "true";
      return bad("true or false");
    case "enum":
      if (typeof value === "string" && spec.values.includes(value)) return value;
      return bad(`one of ${spec.values.join(", ")}`);
    case "number": {
      const x = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
      const bounds = [spec.min !== undefined ? `>= ${spec.min}` : "", spec.max !== undefined ? `<= ${spec.max}` : ""].filter((b) => b !== "").join(" and ");
      const range = `${spec.integer ? "an integer" : "a number"}${bounds ? ` ${bounds}` : ""}`;
      if (!Number.isFinite(x) || (spec.integer && !Number.isInteger(x)) || (spec.min !== undefined && x < spec.min) || (spec.max !== undefined && x > spec.max)) return bad(range);
      return x;
    }
  }
}

/**
 * `options` checked against `schema` and converted to typed values (strings from the CLI are parsed;
 * typed values pass through). Only the given keys are returned: defaults stay the method's.
 */
export function validateMethodOptions(method: string, schema: MethodOptionSchema, options: Readonly<Record<string, unknown>> = {}): MethodOptions {
  const out: MethodOptions = {};
  for (const [key, value] of Object.entries(options)) {
    if (!Object.hasOwn(schema, key)) {
      throw new InvalidArgumentError(`method "${method}" has no option "${key}"; ${describeMethodOptions(method, schema)}`);
    }
    out[key] = coerceOption(method, schema, key, value);
  }
  return out;
}

/** The schema's defaults overridden by `options` (validated): what a run actually used, for results files. */
export function resolvedMethodOptions(method: string, schema: MethodOptionSchema, options?: Readonly<Record<string, unknown>>): MethodOptions {
  const defaults = Object.fromEntries(Object.entries(schema).map(([k, s]) => [k, s.default]));
  return { ...defaults, ...validateMethodOptions(method, schema, options) };
}

/** Commander collector of repeated `--option key=value`. */
export function collectOptionAssignment(v: string, previous: string[] = []): string[] {
  if (!/^[^=\s]+=.*$/.test(v)) throw new InvalidArgumentError(`--option takes key=value (e.g. --option pao=false); got "${v}"`);
  return [...previous, v];
}

/**
 * One key -> value record from `--option key=value` assignments plus convenience flags (already
 * mapped to their keys); the same key given twice with different values is an error, not last-wins.
 */
export function mergeOptionAssignments(assignments: readonly string[], flags: Readonly<Record<string, { value: MethodOptionValue; flag: string }>> = {}): Record<string, MethodOptionValue> {
  const out: Record<string, MethodOptionValue> = {};
  const from: Record<string, string> = {};
  const set = (key: string, value: MethodOptionValue, origin: string) => {
    if (Object.hasOwn(out, key) && String(out[key]) !== String(value)) {
      throw new InvalidArgumentError(`option ${key} is given twice with different values (${from[key]} and ${origin}): keep one`);
    }
    out[key] = value;
    from[key] = origin;
  };
  for (const a of assignments) {
    const eq = a.indexOf("=");
    set(a.slice(0, eq), a.slice(eq + 1), `--option ${a}`);
  }
  for (const [key, { value, flag }] of Object.entries(flags)) set(key, value, flag);
  return out;
}

/**
 * The per-method option flags of `simclip eval` and `simclip predict`: generic `--option key=value`
 * and the Table 6 ablation shorthands of SimCLIP+ (fd, pao, weighting).
 */
export function addMethodOptionFlags(cmd: Command): Command {
  return cmd
    .option("--option <key=value>", "method option, repeatable (e.g. --option imageScoreMap=few-shot); an unknown key lists the method's options", collectOptionAssignment, [])
    .option("--no-fd", "SimCLIP+: drop the feature-driven map M_v (Table 6 PAO only); same as --option fd=false")
    .option("--no-pao", "SimCLIP+: drop the prior-aware optimisation (Table 6 FD only); same as --option pao=false")
    .option("--pao-weighting <mode>", "SimCLIP+: Algorithm 1's weighting, per-layer (paper) or last-layer (released code); same as --option weighting=MODE");
}

/** The raw (unvalidated) method options of a command built with `addMethodOptionFlags`; untouched flags add nothing. */
export function methodOptionsFromCommand(cmd: Command): Record<string, MethodOptionValue> {
  const o = cmd.opts<{ option: string[]; fd: boolean; pao: boolean; paoWeighting?: string }>();
  const flags: Record<string, { value: MethodOptionValue; flag: string }> = {};
  // `--no-x` defaults x to true; only an explicit flag may reach the method (others have no such key).
  if (cmd.getOptionValueSource("fd") === "cli") flags.fd = { value: o.fd, flag: "--no-fd" };
  if (cmd.getOptionValueSource("pao") === "cli") flags.pao = { value: o.pao, flag: "--no-pao" };
  if (o.paoWeighting !== undefined) flags.weighting = { value: o.paoWeighting, flag: `--pao-weighting ${o.paoWeighting}` };
  return mergeOptionAssignments(o.option, flags);
}
