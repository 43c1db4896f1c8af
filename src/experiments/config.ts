/**
 * What the experiments run on, read in one place for the notebooks, `simclip figures` and the
 * experiment functions.
 *
 * Sources, later ones winning: a JSON config file (SIMCLIP_CONFIG, else `simclip.config.json` in the
 * working directory or its parent, so notebooks/ finds the one at the project root), then the
 * environment variables SIMCLIP_MODEL, MVTEC_ROOT, VISA_ROOT and SIMCLIP_QUICK. What is not given
 * falls back to the synthetic benchmark and the demo backbone, and `describeExperimentConfig` says so
 * at the top of each notebook: numbers from that setup are never the paper's.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { cacheRoot } from "../cache/location.js";
import { FileFormatError, InvalidArgumentError, MissingFileError } from "../errors.js";

export type BackboneSetting = { kind: "demo" } | { kind: "dir"; path: string };
export type DatasetSetting = { kind: "synthetic" } | { kind: "dir"; root: string };

export interface ExperimentConfig {
  backbone: BackboneSetting;
  mvtec: DatasetSetting;
  visa: DatasetSetting;
  /** SIMCLIP_QUICK=1: the short configuration CI executes (few images, few steps). */
  quick: boolean;
  /** The config file that was read, or null when only the environment was used. */
  configFile: string | null;
  /** Where the demo backbone, synthetic benchmark, features and checkpoints are cached (src/cache/location.ts, project scope). */
  cacheDir: string;
}

const FILE_NAME = "simclip.config.json";
const FILE_KEYS = ["model", "mvtecRoot", "visaRoot", "quick"] as const;

interface FileSettings {
  model?: string;
  mvtecRoot?: string;
  visaRoot?: string;
  quick?: boolean;
}

export interface LoadExperimentConfigOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export function loadExperimentConfig(opts: LoadExperimentConfigOptions = {}): ExperimentConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const configFile = findConfigFile(env, cwd);
  const file = configFile === null ? {} : readConfigFile(configFile);
  const base = configFile === null ? cwd : path.dirname(configFile);

  const model = nonEmpty(env.SIMCLIP_MODEL) ?? file.model;
  const mvtec = nonEmpty(env.MVTEC_ROOT) ?? file.mvtecRoot;
  const visa = nonEmpty(env.VISA_ROOT) ?? file.visaRoot;
  return {
    backbone:
      model === undefined
        ? { kind: "demo" }
        : { kind: "dir", path: existingDir(path.resolve(base, model), "SIMCLIP_MODEL / model", "a CLIP model directory (Hugging Face or OpenAI layout)") },
    mvtec:
      mvtec === undefined
        ? { kind: "synthetic" }
        : { kind: "dir", root: existingDir(path.resolve(base, mvtec), "MVTEC_ROOT / mvtecRoot", "the MVTec-AD root (holding bottle/, cable/, ...)") },
    visa:
      visa === undefined
        ? { kind: "synthetic" }
        : { kind: "dir", root: existingDir(path.resolve(base, visa), "VISA_ROOT / visaRoot", "the VisA root (holding split_csv/1cls.csv)") },
    quick: parseQuick(env.SIMCLIP_QUICK) ?? file.quick ?? false,
    configFile,
    cacheDir: cacheRoot("project", { env, cwd }),
  };
}

/** True when every input is real: only then may numbers be set beside the paper's as comparable. */
export function isRealSetup(c: ExperimentConfig): boolean {
  return c.backbone.kind === "dir" && c.mvtec.kind === "dir" && c.visa.kind === "dir";
}

/** A short label for what computed numbers come from, for table captions and figure titles. */
export function setupLabel(c: ExperimentConfig): string {
  const backbone = c.backbone.kind === "demo" ? "demo backbone (random, not pretrained)" : path.basename(c.backbone.path);
  const data =
    c.mvtec.kind === "dir" && c.visa.kind === "dir"
      ? "MVTec-AD + VisA"
      : c.mvtec.kind === "synthetic" && c.visa.kind === "synthetic"
        ? "synthetic benchmark"
        : "synthetic + real datasets";
  return `${data}, ${backbone}${c.quick ? ", quick mode" : ""}${isRealSetup(c) ? "" : " — SYNTHETIC SETUP, not comparable to the paper"}`;
}

/** A short Markdown paragraph naming what this notebook runs on; shown at the top of every notebook. */
export function describeExperimentConfig(c: ExperimentConfig): string {
  const backbone = c.backbone.kind === "demo" ? "the **demo backbone** (a small random CLIP, not pretrained)" : `the CLIP model in \`${c.backbone.path}\``;
  const ds = (name: string, d: DatasetSetting) => (d.kind === "synthetic" ? `${name}: **synthetic benchmark**` : `${name}: \`${d.root}\``);
  const lines = [
    `**Configuration** (${c.configFile === null ? "environment variables" : `\`${c.configFile}\` + environment variables`}${c.quick ? ", quick mode" : ""}):`,
    `backbone: ${backbone}; ${ds("MVTec-AD", c.mvtec)}; ${ds("VisA", c.visa)}.`,
  ];
  if (!isRealSetup(c)) {
    lines.push(
      "⚠️ **Synthetic setup**: the numbers computed below come from the synthetic benchmark and/or the demo backbone. They check that the pipeline works; they are not the paper's numbers and are not comparable to them. Set SIMCLIP_MODEL, MVTEC_ROOT and VISA_ROOT (or simclip.config.json) to run the paper's setup.",
    );
  }
  return lines.join("\n\n");
}

function findConfigFile(env: Record<string, string | undefined>, cwd: string): string | null {
  const explicit = nonEmpty(env.SIMCLIP_CONFIG);
  if (explicit !== undefined) {
    const p = path.resolve(cwd, explicit);
    if (!existsSync(p))
      throw new MissingFileError(p, `SIMCLIP_CONFIG names this file but it does not exist; create it (keys: ${FILE_KEYS.join(", ")}) or unset SIMCLIP_CONFIG`);
    return p;
  }
  for (const dir of [cwd, path.dirname(cwd)]) {
    const p = path.join(dir, FILE_NAME);
    if (existsSync(p)) return p;
  }
  return null;
}

function readConfigFile(file: string): FileSettings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new FileFormatError(file, `expected a JSON object with keys ${FILE_KEYS.join(", ")}; JSON.parse failed: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new FileFormatError(file, `expected a JSON object with keys ${FILE_KEYS.join(", ")}, found ${JSON.stringify(parsed)}`);
  }
  const out: FileSettings = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (k === "quick") {
      if (typeof v !== "boolean") throw new FileFormatError(file, `"quick" must be true or false, found ${JSON.stringify(v)}`);
      out.quick = v;
    } else if (k === "model" || k === "mvtecRoot" || k === "visaRoot") {
      if (typeof v !== "string" || v === "") throw new FileFormatError(file, `"${k}" must be a non-empty path string, found ${JSON.stringify(v)}`);
      out[k] = v;
    } else {
      throw new FileFormatError(file, `unknown key "${k}"; allowed keys are ${FILE_KEYS.join(", ")}`);
    }
  }
  return out;
}

function existingDir(p: string, setting: string, what: string): string {
  if (!existsSync(p) || !statSync(p).isDirectory()) {
    throw new MissingFileError(p, `${setting} names this directory but it does not exist; point it at ${what}, or unset it to use the synthetic/demo setup`);
  }
  return p;
}

function parseQuick(v: string | undefined): boolean | undefined {
  if (v === undefined || v === "") return undefined;
  if (v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  throw new InvalidArgumentError(`SIMCLIP_QUICK must be 1/true or 0/false, found "${v}"`);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === "" ? undefined : v;
}
