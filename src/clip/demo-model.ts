/**
 * Randomly initialised CLIP models of real shapes, for the no-download default and for benchmarks:
 * real weights cannot be fetched on every machine. A demo model is written in Hugging Face layout,
 * so it goes through exactly the loader real checkpoints use, with CLIP's real BPE vocabulary
 * (bundled under assets/clip-bpe/). Its config.json carries `"simclip_demo": {"random": true, ...}`;
 * anything reporting numbers from a model should check `isRandomDemoModel` and say so.
 *
 * Initialisation follows OpenAI's clip/model.py: `CLIP.initialize_parameters` for the embeddings,
 * the text transformer and the projections, and PyTorch's default initialisers for what it leaves
 * alone (conv1, the vision transformer's attention and MLP, all biases). The random stream is our
 * own small generator (xoshiro128** + Box-Muller) so that a seed gives the same bytes on every
 * machine and library version.
 */
import { copyFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FileFormatError, InvalidArgumentError, MissingFileError } from "../errors.js";
import { startProgress } from "../progress.js";
import { type ClipConfig, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD } from "./config.js";
import { writeSafetensors } from "./safetensors.js";
import { clipWeightShapes, openaiToHfWeights } from "./weight-names.js";
import type { ClipWeights } from "./weights.js";

type ArchDims = Omit<ClipConfig, "imageMean" | "imageStd" | "activation">;

/** OpenAI's released ViT shapes (clip/clip.py _MODELS), plus a tiny one for tests. */
export const DEMO_ARCHS: Record<string, ArchDims> = {
  "ViT-B-32": {
    embedDim: 512,
    vision: { width: 768, layers: 12, heads: 12, patchSize: 32, imageSize: 224 },
    text: { width: 512, layers: 12, heads: 8, contextLength: 77, vocabSize: 49408 },
  },
  "ViT-B-16": {
    embedDim: 512,
    vision: { width: 768, layers: 12, heads: 12, patchSize: 16, imageSize: 224 },
    text: { width: 512, layers: 12, heads: 8, contextLength: 77, vocabSize: 49408 },
  },
  "ViT-L-14": {
    embedDim: 768,
    vision: { width: 1024, layers: 24, heads: 16, patchSize: 14, imageSize: 224 },
    text: { width: 768, layers: 12, heads: 12, contextLength: 77, vocabSize: 49408 },
  },
  "ViT-L-14-336": {
    embedDim: 768,
    vision: { width: 1024, layers: 24, heads: 16, patchSize: 14, imageSize: 336 },
    text: { width: 768, layers: 12, heads: 12, contextLength: 77, vocabSize: 49408 },
  },
  tiny: {
    embedDim: 32,
    vision: { width: 128, layers: 4, heads: 2, patchSize: 8, imageSize: 64 },
    text: { width: 64, layers: 2, heads: 2, contextLength: 77, vocabSize: 49408 },
  },
};

export function demoArchConfig(arch: string): ClipConfig {
  const dims = DEMO_ARCHS[arch];
  if (!dims) {
    throw new InvalidArgumentError(`unknown demo architecture "${arch}"; expected one of ${Object.keys(DEMO_ARCHS).join(", ")}`);
  }
  return { ...structuredClone(dims), activation: "quick-gelu", imageMean: [...OPENAI_CLIP_MEAN], imageStd: [...OPENAI_CLIP_STD] };
}

/** xoshiro128** (Blackman & Vigna) seeded through splitmix32; normals by Box-Muller. */
class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    const st: number[] = [];
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      st.push((z ^ (z >>> 16)) >>> 0);
    }
    [this.s0, this.s1, this.s2, this.s3] = st as [number, number, number, number];
  }

  /** Uniform in (0, 1): 32 random bits, never exactly 0 (Box-Muller takes its log). */
  uniform(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return (result + 0.5) / 4294967296;
  }

  fillNormal(out: Float32Array, std: number): void {
    for (let i = 0; i < out.length; i += 2) {
      const r = Math.sqrt(-2 * Math.log(this.uniform())) * std;
      const theta = 2 * Math.PI * this.uniform();
      out[i] = r * Math.cos(theta);
      if (i + 1 < out.length) out[i + 1] = r * Math.sin(theta);
    }
  }

  fillUniform(out: Float32Array, bound: number): void {
    for (let i = 0; i < out.length; i++) out[i] = (2 * this.uniform() - 1) * bound;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

type Init = { kind: "normal"; std: number } | { kind: "uniform"; bound: number } | { kind: "const"; value: number };

/** The initialiser OpenAI's code (or PyTorch's default it relies on) applies to each parameter. */
function initFor(name: string, shape: number[], c: ClipConfig): Init {
  const vw = c.vision.width;
  const tw = c.text.width;
  if (/(^|\.)ln_\w+\.weight$/.test(name)) return { kind: "const", value: 1 };
  if (/(^|\.)ln_\w+\.bias$/.test(name)) return { kind: "const", value: 0 };
  if (name === "logit_scale") return { kind: "const", value: Math.log(1 / 0.07) };
  if (name === "token_embedding.weight") return { kind: "normal", std: 0.02 };
  if (name === "positional_embedding") return { kind: "normal", std: 0.01 };
  if (name === "text_projection") return { kind: "normal", std: tw ** -0.5 };
  if (name === "visual.class_embedding" || name === "visual.positional_embedding" || name === "visual.proj") {
    return { kind: "normal", std: vw ** -0.5 };
  }
  // nn.Conv2d / nn.Linear default: kaiming_uniform(a = sqrt(5)) = U(+-1 / sqrt(fan_in)).
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  if (name === "visual.conv1.weight") return { kind: "uniform", bound: 1 / Math.sqrt(fanIn) };
  const block = /^(visual\.)?transformer\.resblocks\.\d+\.(.+)$/.exec(name);
  if (!block) throw new InvalidArgumentError(`no initialiser for "${name}": expected a tensor of OpenAI's ViT CLIP (clipWeightShapes)`);
  const part = block[2]!;
  const width = block[1] ? vw : tw;
  // nn.MultiheadAttention._reset_parameters zeroes both attention biases.
  if (part === "attn.in_proj_bias" || part === "attn.out_proj.bias") return { kind: "const", value: 0 };
  // Linear biases: U(+-1 / sqrt(fan_in)) with fan_in = width (c_fc) or 4 * width (c_proj).
  if (part === "mlp.c_fc.bias") return { kind: "uniform", bound: 1 / Math.sqrt(width) };
  if (part === "mlp.c_proj.bias") return { kind: "uniform", bound: 1 / Math.sqrt(4 * width) };
  if (block[1]) {
    // Vision blocks keep PyTorch's defaults: xavier_uniform on the fused [3W, W] in_proj, Linear's elsewhere.
    if (part === "attn.in_proj_weight") return { kind: "uniform", bound: Math.sqrt(6 / (width + 3 * width)) };
    return { kind: "uniform", bound: 1 / Math.sqrt(fanIn) };
  }
  // CLIP.initialize_parameters for the text transformer.
  const projStd = tw ** -0.5 * (2 * c.text.layers) ** -0.5;
  if (part === "attn.in_proj_weight") return { kind: "normal", std: tw ** -0.5 };
  if (part === "attn.out_proj.weight" || part === "mlp.c_proj.weight") return { kind: "normal", std: projStd };
  if (part === "mlp.c_fc.weight") return { kind: "normal", std: (2 * tw) ** -0.5 };
  throw new InvalidArgumentError(`no initialiser for "${name}": expected a tensor of OpenAI's ViT CLIP (clipWeightShapes)`);
}

/** A randomly initialised CLIP (canonical OpenAI names), deterministic for a given arch and seed. */
export function buildDemoWeights(arch: string, seed: number): { config: ClipConfig; weights: ClipWeights } {
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError(`seed must be an integer, got ${seed}`);
  const config = demoArchConfig(arch);
  const shapes = clipWeightShapes(config);
  const rng = new SeededRandom(seed);
  const weights: ClipWeights = new Map();
  const total = [...shapes.values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  const progress = total > 50_000_000 ? startProgress(`random ${arch} weights`, shapes.size) : undefined;
  let done = 0;
  for (const [name, shape] of shapes) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const init = initFor(name, shape, config);
    if (init.kind === "const") data.fill(init.value);
    else if (init.kind === "normal") rng.fillNormal(data, init.std);
    else rng.fillUniform(data, init.bound);
    weights.set(name, { data, shape });
    progress?.update(++done);
  }
  progress?.stop();
  return { config, weights };
}

/** The tokenizer files shipped with the package (CLIP's real vocabulary and merges). */
export function bundledTokenizerDir(): string {
  // src/clip/ and dist/clip/ are both two levels below the package root.
  return fileURLToPath(new URL("../../assets/clip-bpe/", import.meta.url));
}

/** Hugging Face CLIPConfig for `config`, marked as a random demo model. */
export function demoHfConfig(config: ClipConfig, arch: string, seed: number): Record<string, unknown> {
  const common = { hidden_act: config.activation === "gelu" ? "gelu" : "quick_gelu", layer_norm_eps: 1e-5, projection_dim: config.embedDim };
  return {
    architectures: ["CLIPModel"],
    model_type: "clip",
    projection_dim: config.embedDim,
    logit_scale_init_value: 2.6592,
    text_config: {
      hidden_size: config.text.width,
      intermediate_size: 4 * config.text.width,
      num_attention_heads: config.text.heads,
      num_hidden_layers: config.text.layers,
      max_position_embeddings: config.text.contextLength,
      vocab_size: config.text.vocabSize,
      bos_token_id: 49406,
      eos_token_id: 49407,
      pad_token_id: 1,
      ...common,
    },
    vision_config: {
      hidden_size: config.vision.width,
      intermediate_size: 4 * config.vision.width,
      num_attention_heads: config.vision.heads,
      num_hidden_layers: config.vision.layers,
      image_size: config.vision.imageSize,
      patch_size: config.vision.patchSize,
      num_channels: 3,
      ...common,
    },
    simclip_demo: { random: true, arch, seed },
  };
}

function preprocessorConfig(config: ClipConfig): Record<string, unknown> {
  const r = config.vision.imageSize;
  return {
    image_processor_type: "CLIPImageProcessor",
    do_resize: true,
    size: { shortest_edge: r },
    resample: 3,
    do_center_crop: true,
    crop_size: { height: r, width: r },
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: config.imageMean,
    image_std: config.imageStd,
    do_convert_rgb: true,
  };
}

/**
 * Writes a random demo model in Hugging Face layout into `dir` (created if needed): config.json,
 * model.safetensors, preprocessor_config.json, vocab.json, merges.txt.
 */
export async function writeDemoModel(dir: string, opts: { arch: string; seed: number; dtype?: "F32" | "F16" }): Promise<{ dir: string; config: ClipConfig }> {
  const { config, weights } = buildDemoWeights(opts.arch, opts.seed);
  await mkdir(dir, { recursive: true });
  const bpe = bundledTokenizerDir();
  for (const f of ["vocab.json", "merges.txt"]) {
    try {
      await copyFile(join(bpe, f), join(dir, f));
    } catch {
      throw new MissingFileError(join(bpe, f), "simclip's bundled tokenizer file is missing; reinstall the package (it ships assets/clip-bpe/)");
    }
  }
  await writeFile(join(dir, "config.json"), `${JSON.stringify(demoHfConfig(config, opts.arch, opts.seed), null, 2)}\n`);
  await writeFile(join(dir, "preprocessor_config.json"), `${JSON.stringify(preprocessorConfig(config), null, 2)}\n`);
  await writeSafetensors(join(dir, "model.safetensors"), openaiToHfWeights(weights), { format: "pt" }, { dtype: opts.dtype ?? "F32" });
  return { dir, config };
}

const DEMO_FILES = ["config.json", "model.safetensors", "preprocessor_config.json", "vocab.json", "merges.txt"];

/**
 * Writes the demo model unless `dir` already holds the same one (same arch and seed, all files
 * present), so notebooks and the default job pay the generation once. A directory holding any
 * other model is left alone and reported, never overwritten.
 */
export async function ensureDemoModel(
  dir: string,
  opts: { arch: string; seed: number; dtype?: "F32" | "F16" },
): Promise<{ dir: string; config: ClipConfig; created: boolean }> {
  const configPath = join(dir, "config.json");
  let text: string | undefined;
  try {
    text = await readFile(configPath, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  let existing: unknown;
  if (text !== undefined) {
    // A config.json that is not JSON is someone else's broken model: report it, never overwrite it.
    try {
      existing = JSON.parse(text);
    } catch (e) {
      throw new FileFormatError(configPath, `not valid JSON (${(e as Error).message}); choose another directory for the ${opts.arch} demo model, or delete it`);
    }
  }
  if (existing !== undefined) {
    const demo = (existing as { simclip_demo?: { arch?: unknown; seed?: unknown } }).simclip_demo;
    if (demo?.arch !== opts.arch || demo?.seed !== opts.seed) {
      throw new InvalidArgumentError(
        `${dir} already holds a different model (config.json simclip_demo = ${JSON.stringify(demo ?? null)}); ` +
          `choose another directory for the ${opts.arch} demo model with seed ${opts.seed}, or delete it`,
      );
    }
    const present = await Promise.all(
      DEMO_FILES.map((f) =>
        stat(join(dir, f)).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (present.every(Boolean)) return { dir, config: demoArchConfig(opts.arch), created: false };
  }
  return { ...(await writeDemoModel(dir, opts)), created: true };
}

/**
 * True when a model directory (or its config.json path, or the parsed config.json object) is a
 * random demo model written by `writeDemoModel`.
 */
export async function isRandomDemoModel(dirOrConfig: string | Record<string, unknown>): Promise<boolean> {
  let json: unknown = dirOrConfig;
  if (typeof dirOrConfig === "string") {
    let path = dirOrConfig;
    try {
      if ((await stat(path)).isDirectory()) path = join(path, "config.json");
    } catch {
      throw new MissingFileError(path, "model directory or config.json not found");
    }
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      // OpenAI-layout directories have no config.json and are never demo models.
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new FileFormatError(path, `not valid JSON (${(e as Error).message})`);
    }
  }
  const demo = (json as { simclip_demo?: { random?: unknown } } | null)?.simclip_demo;
  return demo?.random === true;
}
