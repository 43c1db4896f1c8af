/** Parsing of the option values `simclip train/eval/predict` share, with messages that say what to type. */
import type { Command } from "commander";
import { InvalidArgumentError } from "../errors.js";
import type { MethodOptionValue } from "../models/common/method-options.js";

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

export function parseProbability(flag: string): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (v.trim() === "" || !(Number.isFinite(x) && x >= 0 && x <= 1)) throw new InvalidArgumentError(`--${flag} must be a probability in [0, 1]; got "${v}"`);
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
  return v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
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
export function mergeOptionAssignments(
  assignments: readonly string[],
  flags: Readonly<Record<string, { value: MethodOptionValue; flag: string }>> = {},
): Record<string, MethodOptionValue> {
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
    .option(
      "--option <key=value>",
      "method option, repeatable (e.g. --option imageScoreMap=few-shot); an unknown key lists the method's options",
      collectOptionAssignment,
      [],
    )
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
