import { InvalidArgumentError } from "../../errors.js";

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
      if (!Number.isFinite(x) || (spec.integer && !Number.isInteger(x)) || (spec.min !== undefined && x < spec.min) || (spec.max !== undefined && x > spec.max))
        return bad(range);
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
