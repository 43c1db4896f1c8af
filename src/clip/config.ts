/**
 * CLIP model dimensions, in the vocabulary of OpenAI's `CLIP(...)` constructor (clip/model.py), plus
 * the image normalisation the model was trained with. Parsed from a Hugging Face `config.json` here;
 * inferred from tensor shapes for OpenAI-named checkpoints in `weights.ts`.
 */
import { FileFormatError } from "../errors.js";

export interface ClipVisionConfig {
  width: number;
  layers: number;
  heads: number;
  patchSize: number;
  imageSize: number;
}

export interface ClipTextConfig {
  width: number;
  layers: number;
  heads: number;
  contextLength: number;
  vocabSize: number;
}

/**
 * The MLP activation both towers run. OpenAI trained CLIP with QuickGELU (x * sigmoid(1.702 x)); the
 * released SimCLIP / APRIL-GAN code runs exact (erf) GELU on those weights whenever the input size is not
 * the native one (see `releasedActivation` in model.ts).
 */
export type ClipActivation = "quick-gelu" | "gelu";

export interface ClipConfig {
  embedDim: number;
  activation: ClipActivation;
  vision: ClipVisionConfig;
  text: ClipTextConfig;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

/** OpenAI CLIP's normalisation (clip/clip.py `_transform`); every OpenAI checkpoint uses it. */
export const OPENAI_CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads one integer field of a Hugging Face sub-config. A missing field takes the default that
 * `transformers`' CLIPTextConfig / CLIPVisionConfig constructors use, because that is how the same
 * file loads in `transformers` (older hub configs omit fields equal to the defaults).
 */
function intField(path: string, section: string, obj: Json, key: string, dflt: number): number {
  const v = obj[key] ?? dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new FileFormatError(path, `${section}.${key} must be a positive integer, found ${JSON.stringify(v)}`);
  }
  return v;
}

const HF_ACTIVATIONS: Record<string, ClipActivation> = { quick_gelu: "quick-gelu", gelu: "gelu" };

/**
 * Parses a Hugging Face `CLIPModel` config.json. OpenAI's architecture with QuickGELU or exact GELU
 * (both towers the same): other activations or an MLP width other than 4 x width are rejected, not
 * approximated.
 */
export function parseHfClipConfig(
  path: string,
  json: unknown,
  imageMean: [number, number, number] = OPENAI_CLIP_MEAN,
  imageStd: [number, number, number] = OPENAI_CLIP_STD,
): ClipConfig {
  if (!isObject(json)) throw new FileFormatError(path, "expected a JSON object (a Hugging Face CLIPConfig)");
  // Hub configs written by transformers < 4.21 keep the sub-configs under *_config_dict.
  const text = json.text_config ?? json.text_config_dict ?? {};
  const vision = json.vision_config ?? json.vision_config_dict ?? {};
  if (!isObject(text) || !isObject(vision)) {
    throw new FileFormatError(path, "expected objects under text_config and vision_config (a Hugging Face CLIPConfig)");
  }
  const activations = (
    [
      ["text_config", text],
      ["vision_config", vision],
    ] as const
  ).map(([section, obj]) => {
    const act = obj.hidden_act ?? "quick_gelu";
    const known = typeof act === "string" ? HF_ACTIVATIONS[act] : undefined;
    if (!known) {
      throw new FileFormatError(path, `${section}.hidden_act is ${JSON.stringify(act)}; supported: "quick_gelu" (OpenAI CLIP's) and "gelu"`);
    }
    return known;
  });
  if (activations[0] !== activations[1]) {
    throw new FileFormatError(
      path,
      `text_config.hidden_act and vision_config.hidden_act differ (${activations.join(" vs ")}); both towers must use the same activation`,
    );
  }
  const vWidth = intField(path, "vision_config", vision, "hidden_size", 768);
  const tWidth = intField(path, "text_config", text, "hidden_size", 512);
  const config: ClipConfig = {
    embedDim: intField(path, "config", json, "projection_dim", 512),
    activation: activations[0]!,
    vision: {
      width: vWidth,
      layers: intField(path, "vision_config", vision, "num_hidden_layers", 12),
      heads: intField(path, "vision_config", vision, "num_attention_heads", 12),
      patchSize: intField(path, "vision_config", vision, "patch_size", 32),
      imageSize: intField(path, "vision_config", vision, "image_size", 224),
    },
    text: {
      width: tWidth,
      layers: intField(path, "text_config", text, "num_hidden_layers", 12),
      heads: intField(path, "text_config", text, "num_attention_heads", 8),
      contextLength: intField(path, "text_config", text, "max_position_embeddings", 77),
      vocabSize: intField(path, "text_config", text, "vocab_size", 49408),
    },
    imageMean,
    imageStd,
  };
  const checks: Array<[string, number, number]> = [
    ["vision_config.intermediate_size", intField(path, "vision_config", vision, "intermediate_size", 3072), 4 * vWidth],
    ["text_config.intermediate_size", intField(path, "text_config", text, "intermediate_size", 2048), 4 * tWidth],
  ];
  for (const [key, found, expected] of checks) {
    if (found !== expected) {
      throw new FileFormatError(path, `${key} is ${found}; OpenAI CLIP's MLP is 4 x hidden_size = ${expected}`);
    }
  }
  validateClipConfig(path, config);
  return config;
}

/** Checks the divisibility rules the architecture needs; throws FileFormatError naming the field. */
export function validateClipConfig(where: string, c: ClipConfig): void {
  const fail = (d: string) => {
    throw new FileFormatError(where, d);
  };
  if (c.vision.width % c.vision.heads !== 0) {
    fail(`vision width ${c.vision.width} is not divisible by its ${c.vision.heads} attention heads`);
  }
  if (c.text.width % c.text.heads !== 0) {
    fail(`text width ${c.text.width} is not divisible by its ${c.text.heads} attention heads`);
  }
  if (c.vision.imageSize % c.vision.patchSize !== 0) {
    fail(`vision image size ${c.vision.imageSize} is not a multiple of the patch size ${c.vision.patchSize}`);
  }
}

/**
 * Reads image_mean / image_std from a Hugging Face preprocessor_config.json object; both must be
 * three numbers.
 */
export function parsePreprocessorStats(path: string, json: unknown): { mean: [number, number, number]; std: [number, number, number] } {
  if (!isObject(json)) throw new FileFormatError(path, "expected a JSON object (a CLIPImageProcessor config)");
  const triple = (key: string): [number, number, number] => {
    const v = json[key];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
      throw new FileFormatError(path, `${key} must be a list of 3 numbers (R, G, B), found ${JSON.stringify(v)}`);
    }
    return [v[0], v[1], v[2]];
  };
  const std = triple("image_std");
  if (std.some((s) => s <= 0)) throw new FileFormatError(path, `image_std must be positive, found ${JSON.stringify(std)}`);
  return { mean: triple("image_mean"), std };
}
