/**
 * Loads CLIP weights from a model directory into ONE canonical form: OpenAI state-dict names,
 * float32, PyTorch layouts (linear weights [out, in]; `visual.proj` / `text_projection` [width, embed]).
 *
 * Two layouts are accepted:
 * - Hugging Face: `model.safetensors` (CLIPModel names) + `config.json`; q/k/v are fused back into
 *   `in_proj_*` and the projections transposed back (see `weight-names.ts`).
 * - OpenAI / open_clip: `open_clip_model.safetensors` (state-dict names); dimensions are inferred from
 *   tensor shapes as OpenAI's clip/model.py `build_model` does.
 * Every tensor is then checked against the shapes the config implies: missing, extra and wrong-shaped
 * tensors are errors naming the tensor, never skipped.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { FileFormatError, MissingFileError } from "../errors.js";
import { statOrUndefined } from "../fs-stat.js";
import { type ClipConfig, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, parseHfClipConfig, parsePreprocessorStats, validateClipConfig } from "./config.js";
import { readSafetensorsHeader, readSafetensorsWithMetadata } from "./safetensors.js";
import { clipWeightShapes, HF_IGNORED_BUFFERS, hfToOpenaiName, openaiToHfNames, transposeWeight2d } from "./weight-names.js";

export interface WeightTensor {
  data: Float32Array;
  shape: number[];
}

export type ClipWeights = Map<string, WeightTensor>;

export interface LoadedClip {
  dir: string;
  config: ClipConfig;
  weights: ClipWeights;
  format: "huggingface" | "openai";
  /** sha256 of the weights file's bytes, hex. */
  fingerprint: string;
}

/** A tensor of a checkpoint is missing, unexpected or has the wrong shape. */
export class ClipWeightsError extends FileFormatError {
  override name = "ClipWeightsError";
  constructor(
    path: string,
    readonly tensor: string,
    detail: string,
  ) {
    super(path, `tensor "${tensor}": ${detail}`);
  }
}

export const HF_WEIGHTS_FILE = "model.safetensors";
export const HF_CONFIG_FILE = "config.json";
export const OPENAI_WEIGHTS_FILE = "open_clip_model.safetensors";
export const PREPROCESSOR_CONFIG_FILE = "preprocessor_config.json";
export const OPEN_CLIP_CONFIG_FILE = "open_clip_config.json";

async function exists(path: string): Promise<boolean> {
  return (await statOrUndefined(path)) !== undefined;
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FileFormatError(path, `not valid JSON (${(e as Error).message})`);
  }
}

function shapeStr(s: readonly number[]): string {
  return `[${s.join(", ")}]`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const LAYOUT_HELP =
  `place either ${HF_WEIGHTS_FILE} + ${HF_CONFIG_FILE} (Hugging Face CLIPModel layout, e.g. from ` +
  `huggingface.co/openai/clip-vit-large-patch14-336) or ${OPENAI_WEIGHTS_FILE} (OpenAI / open_clip ` +
  `state-dict names) in this directory, or create a random demo model with \`simclip demo-model\``;

/** Mean/std from preprocessor_config.json when present, else OpenAI's (every OpenAI checkpoint's). */
async function readImageStats(dir: string): Promise<{ mean: [number, number, number]; std: [number, number, number] }> {
  const path = join(dir, PREPROCESSOR_CONFIG_FILE);
  if (!(await exists(path))) return { mean: OPENAI_CLIP_MEAN, std: OPENAI_CLIP_STD };
  return parsePreprocessorStats(path, await readJson(path));
}

/**
 * Loads a CLIP model directory. `format` picks one layout when a directory holds both (the test
 * fixtures do); by default the Hugging Face files win.
 */
export async function loadClipDir(dir: string, opts: { format?: "huggingface" | "openai" } = {}): Promise<LoadedClip> {
  if (!(await exists(dir))) throw new MissingFileError(dir, `model directory does not exist; ${LAYOUT_HELP}`);
  const hfWeights = join(dir, HF_WEIGHTS_FILE);
  const hfConfig = join(dir, HF_CONFIG_FILE);
  const oaWeights = join(dir, OPENAI_WEIGHTS_FILE);
  const [hasHfW, hasHfC, hasOa] = await Promise.all([exists(hfWeights), exists(hfConfig), exists(oaWeights)]);
  const format = opts.format ?? (hasHfW || !hasOa ? "huggingface" : "openai");
  if (format === "openai") {
    if (!hasOa) throw new MissingFileError(oaWeights, `not found; ${LAYOUT_HELP}`);
    return loadOpenai(dir, oaWeights);
  }
  if (!hasHfW) {
    throw new MissingFileError(hfWeights, `not found; ${LAYOUT_HELP}`);
  }
  if (!hasHfC) {
    throw new MissingFileError(hfConfig, `not found: ${HF_WEIGHTS_FILE} needs the Hugging Face CLIPConfig beside it; ${LAYOUT_HELP}`);
  }
  return loadHf(dir, hfWeights, hfConfig);
}

async function loadHf(dir: string, weightsPath: string, configPath: string): Promise<LoadedClip> {
  const stats = await readImageStats(dir);
  const config = parseHfClipConfig(configPath, await readJson(configPath), stats.mean, stats.std);
  const expected = clipWeightShapes(config);
  // Validate names and shapes from the header before reading any data.
  const header = await readSafetensorsHeader(weightsPath);
  const seen = new Set<string>();
  for (const e of header.entries) {
    if (HF_IGNORED_BUFFERS.has(e.name)) continue;
    const target = hfToOpenaiName(e.name);
    const canonical = target && expected.get(target.name);
    if (!target || !canonical) {
      throw new ClipWeightsError(
        weightsPath,
        e.name,
        `unexpected tensor for a CLIPModel with ${config.vision.layers} vision / ${config.text.layers} text layers ` +
          `(config.json); remove it or fix the config`,
      );
    }
    let want = canonical;
    if (target.part !== undefined) want = [canonical[0]! / 3, ...canonical.slice(1)];
    if (target.transpose) want = [...want].reverse();
    if (!sameShape(want, e.shape)) {
      throw new ClipWeightsError(weightsPath, e.name, `expected shape ${shapeStr(want)} (from config.json), found ${shapeStr(e.shape)}`);
    }
    seen.add(e.name);
  }
  for (const [name, shape] of expected) {
    for (const { hfName } of openaiToHfNames(name)!) {
      if (!seen.has(hfName)) throw new ClipWeightsError(weightsPath, hfName, `missing (needed for ${name}, shape ${shapeStr(shape)})`);
    }
  }
  const { tensors, sha256 } = await readSafetensorsWithMetadata(weightsPath, {
    sha256: true,
    filter: (n) => !HF_IGNORED_BUFFERS.has(n),
  });
  const weights: ClipWeights = new Map();
  const parts = new Map<string, WeightTensor[]>();
  for (const [hfName, t] of tensors) {
    const target = hfToOpenaiName(hfName)!;
    tensors.delete(hfName);
    if (target.part === undefined) {
      weights.set(target.name, target.transpose ? transposeWeight2d(t) : t);
      continue;
    }
    const list = parts.get(target.name) ?? [];
    list[target.part] = t;
    parts.set(target.name, list);
    // Fuse as soon as q, k and v are all read, so at most one layer's parts exist twice.
    const [q, k, v] = list;
    if (q && k && v) {
      const fused = new Float32Array(q.data.length * 3);
      fused.set(q.data, 0);
      fused.set(k.data, q.data.length);
      fused.set(v.data, 2 * q.data.length);
      weights.set(target.name, { data: fused, shape: expected.get(target.name)! });
      parts.delete(target.name);
    }
  }
  return { dir, config, weights: orderLike(expected, weights), format: "huggingface", fingerprint: sha256! };
}

function orderLike(expected: Map<string, number[]>, weights: ClipWeights): ClipWeights {
  const out: ClipWeights = new Map();
  for (const name of expected.keys()) out.set(name, weights.get(name)!);
  return out;
}

/**
 * OpenAI's jit checkpoints carry these three non-tensor entries in their state dict; build_model
 * deletes them before loading, and so do we.
 */
const OPENAI_NON_PARAMETERS = new Set(["input_resolution", "context_length", "vocab_size"]);

/**
 * Attention heads cannot be read off tensor shapes. OpenAI's build_model assumes 64-wide heads
 * (heads = width / 64); open_clip's open_clip_config.json or a Hugging Face config.json beside the
 * weights state them explicitly and take precedence (the clip-tiny fixture's 32-wide text tower has
 * 2 heads, which no shape rule could recover).
 */
async function readHeads(dir: string, vWidth: number, tWidth: number, where: string): Promise<{ vision: number; text: number }> {
  const oc = join(dir, OPEN_CLIP_CONFIG_FILE);
  if (await exists(oc)) {
    const json = (await readJson(oc)) as { model_cfg?: { vision_cfg?: { head_width?: number }; text_cfg?: { heads?: number } } };
    const headWidth = json.model_cfg?.vision_cfg?.head_width ?? 64;
    const text = json.model_cfg?.text_cfg?.heads ?? tWidth / 64;
    return { vision: vWidth / headWidth, text };
  }
  const hf = join(dir, HF_CONFIG_FILE);
  if (await exists(hf)) {
    const c = parseHfClipConfig(hf, await readJson(hf));
    return { vision: c.vision.heads, text: c.text.heads };
  }
  for (const [tower, w] of [
    ["vision", vWidth],
    ["text", tWidth],
  ] as const) {
    if (w % 64 !== 0) {
      throw new FileFormatError(
        where,
        `${tower} width ${w} is not a multiple of 64, so OpenAI's rule heads = width / 64 does not apply; ` +
          `place an ${OPEN_CLIP_CONFIG_FILE} or a Hugging Face ${HF_CONFIG_FILE} stating the heads beside it`,
      );
    }
  }
  return { vision: vWidth / 64, text: tWidth / 64 };
}

/** Dimensions from OpenAI-named tensor shapes, following clip/model.py `build_model` for ViT models. */
export function inferOpenaiClipConfig(
  path: string,
  shapes: Map<string, number[]>,
  heads: { vision: number; text: number },
  imageMean: [number, number, number] = OPENAI_CLIP_MEAN,
  imageStd: [number, number, number] = OPENAI_CLIP_STD,
): ClipConfig {
  const need = (name: string, rank: number): number[] => {
    const s = shapes.get(name);
    if (!s) {
      const hint = name === "visual.proj" && shapes.has("visual.layer1.0.conv1.weight") ? " (ResNet CLIP models are not supported)" : "";
      throw new ClipWeightsError(path, name, `missing; it is needed to infer the model's dimensions${hint}`);
    }
    if (s.length !== rank) throw new ClipWeightsError(path, name, `expected a ${rank}-d tensor, found shape ${shapeStr(s)}`);
    return s;
  };
  const countBlocks = (prefix: string): number => {
    const ids = new Set<string>();
    const re = new RegExp(`^${prefix.replace(/\./g, "\\.")}\\.(\\d+)\\.`);
    for (const name of shapes.keys()) {
      const m = re.exec(name);
      if (m) ids.add(m[1]!);
    }
    return ids.size;
  };
  const conv = need("visual.conv1.weight", 4);
  const vPos = need("visual.positional_embedding", 2);
  const grid = Math.round(Math.sqrt(vPos[0]! - 1));
  if (grid * grid + 1 !== vPos[0]) {
    throw new ClipWeightsError(path, "visual.positional_embedding", `expected 1 + grid^2 rows, found shape ${shapeStr(vPos)}`);
  }
  const tPos = need("positional_embedding", 2);
  const config: ClipConfig = {
    embedDim: need("text_projection", 2)[1]!,
    // OpenAI's build_model constructs CLIP with QuickGELU for every checkpoint it loads.
    activation: "quick-gelu",
    vision: {
      width: conv[0]!,
      layers: countBlocks("visual.transformer.resblocks"),
      heads: heads.vision,
      patchSize: conv[3]!,
      imageSize: conv[3]! * grid,
    },
    text: {
      width: need("ln_final.weight", 1)[0]!,
      layers: countBlocks("transformer.resblocks"),
      heads: heads.text,
      contextLength: tPos[0]!,
      vocabSize: need("token_embedding.weight", 2)[0]!,
    },
    imageMean,
    imageStd,
  };
  if (!Number.isInteger(config.vision.heads) || !Number.isInteger(config.text.heads) || config.vision.heads <= 0 || config.text.heads <= 0) {
    throw new FileFormatError(path, `attention heads (vision ${config.vision.heads}, text ${config.text.heads}) must be positive integers`);
  }
  validateClipConfig(path, config);
  return config;
}

async function loadOpenai(dir: string, weightsPath: string): Promise<LoadedClip> {
  const header = await readSafetensorsHeader(weightsPath);
  const shapes = new Map<string, number[]>();
  for (const e of header.entries) if (!OPENAI_NON_PARAMETERS.has(e.name)) shapes.set(e.name, e.shape);
  const conv = shapes.get("visual.conv1.weight");
  const lnFinal = shapes.get("ln_final.weight");
  const heads = await readHeads(dir, conv?.[0] ?? 64, lnFinal?.[0] ?? 64, weightsPath);
  const stats = await readImageStats(dir);
  const config = inferOpenaiClipConfig(weightsPath, shapes, heads, stats.mean, stats.std);
  const expected = clipWeightShapes(config);
  for (const [name, shape] of shapes) {
    const want = expected.get(name);
    if (!want) throw new ClipWeightsError(weightsPath, name, "unexpected tensor: not a parameter of OpenAI's ViT CLIP");
    if (!sameShape(want, shape)) {
      throw new ClipWeightsError(weightsPath, name, `expected shape ${shapeStr(want)} (inferred from the other tensors), found ${shapeStr(shape)}`);
    }
  }
  for (const [name, shape] of expected) {
    if (!shapes.has(name)) throw new ClipWeightsError(weightsPath, name, `missing (expected shape ${shapeStr(shape)})`);
  }
  const { tensors, sha256 } = await readSafetensorsWithMetadata(weightsPath, {
    sha256: true,
    filter: (n) => !OPENAI_NON_PARAMETERS.has(n),
  });
  return { dir, config, weights: orderLike(expected, tensors), format: "openai", fingerprint: sha256! };
}
