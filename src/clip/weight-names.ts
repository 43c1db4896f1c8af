/**
 * The canonical CLIP parameter names (OpenAI's `model.state_dict()`, clip/model.py) with their shapes
 * for a given config, and the mapping to and from Hugging Face `CLIPModel` names
 * (transformers' convert_clip_original_pytorch_to_hf.py, run in reverse: q/k/v are the three row
 * chunks of `in_proj_*`; the two projections are stored transposed).
 */
import { InvalidArgumentError } from "../errors.js";
import type { ClipConfig } from "./config.js";
import type { WeightTensor } from "./weights.js";

function blockShapes(prefix: string, width: number, out: Map<string, number[]>): void {
  out.set(`${prefix}.attn.in_proj_weight`, [3 * width, width]);
  out.set(`${prefix}.attn.in_proj_bias`, [3 * width]);
  out.set(`${prefix}.attn.out_proj.weight`, [width, width]);
  out.set(`${prefix}.attn.out_proj.bias`, [width]);
  out.set(`${prefix}.ln_1.weight`, [width]);
  out.set(`${prefix}.ln_1.bias`, [width]);
  out.set(`${prefix}.mlp.c_fc.weight`, [4 * width, width]);
  out.set(`${prefix}.mlp.c_fc.bias`, [4 * width]);
  out.set(`${prefix}.mlp.c_proj.weight`, [width, 4 * width]);
  out.set(`${prefix}.mlp.c_proj.bias`, [width]);
  out.set(`${prefix}.ln_2.weight`, [width]);
  out.set(`${prefix}.ln_2.bias`, [width]);
}

/** Every parameter of an OpenAI ViT CLIP with its shape, in OpenAI's `named_parameters()` order. */
export function clipWeightShapes(c: ClipConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const v = c.vision;
  const t = c.text;
  const grid = v.imageSize / v.patchSize;
  out.set("positional_embedding", [t.contextLength, t.width]);
  out.set("text_projection", [t.width, c.embedDim]);
  out.set("logit_scale", []);
  out.set("visual.class_embedding", [v.width]);
  out.set("visual.positional_embedding", [grid * grid + 1, v.width]);
  out.set("visual.proj", [v.width, c.embedDim]);
  out.set("visual.conv1.weight", [v.width, 3, v.patchSize, v.patchSize]);
  out.set("visual.ln_pre.weight", [v.width]);
  out.set("visual.ln_pre.bias", [v.width]);
  for (let i = 0; i < v.layers; i++) blockShapes(`visual.transformer.resblocks.${i}`, v.width, out);
  out.set("visual.ln_post.weight", [v.width]);
  out.set("visual.ln_post.bias", [v.width]);
  for (let i = 0; i < t.layers; i++) blockShapes(`transformer.resblocks.${i}`, t.width, out);
  out.set("token_embedding.weight", [t.vocabSize, t.width]);
  out.set("ln_final.weight", [t.width]);
  out.set("ln_final.bias", [t.width]);
  return out;
}

/** Where one Hugging Face tensor goes in the canonical dict. */
export interface HfNameTarget {
  name: string;
  /** Row chunk of a fused `in_proj_*` tensor: 0 = q, 1 = k, 2 = v. */
  part?: 0 | 1 | 2;
  /** Stored transposed relative to the OpenAI tensor (the two projections). */
  transpose?: boolean;
}

const FIXED: Record<string, HfNameTarget> = {
  logit_scale: { name: "logit_scale" },
  "visual_projection.weight": { name: "visual.proj", transpose: true },
  "text_projection.weight": { name: "text_projection", transpose: true },
  "vision_model.embeddings.class_embedding": { name: "visual.class_embedding" },
  "vision_model.embeddings.patch_embedding.weight": { name: "visual.conv1.weight" },
  "vision_model.embeddings.position_embedding.weight": { name: "visual.positional_embedding" },
  "vision_model.pre_layrnorm.weight": { name: "visual.ln_pre.weight" },
  "vision_model.pre_layrnorm.bias": { name: "visual.ln_pre.bias" },
  "vision_model.post_layernorm.weight": { name: "visual.ln_post.weight" },
  "vision_model.post_layernorm.bias": { name: "visual.ln_post.bias" },
  "text_model.embeddings.token_embedding.weight": { name: "token_embedding.weight" },
  "text_model.embeddings.position_embedding.weight": { name: "positional_embedding" },
  "text_model.final_layer_norm.weight": { name: "ln_final.weight" },
  "text_model.final_layer_norm.bias": { name: "ln_final.bias" },
};

const BLOCK_PART: Record<string, HfNameTarget> = {
  "self_attn.q_proj.weight": { name: "attn.in_proj_weight", part: 0 },
  "self_attn.k_proj.weight": { name: "attn.in_proj_weight", part: 1 },
  "self_attn.v_proj.weight": { name: "attn.in_proj_weight", part: 2 },
  "self_attn.q_proj.bias": { name: "attn.in_proj_bias", part: 0 },
  "self_attn.k_proj.bias": { name: "attn.in_proj_bias", part: 1 },
  "self_attn.v_proj.bias": { name: "attn.in_proj_bias", part: 2 },
  "self_attn.out_proj.weight": { name: "attn.out_proj.weight" },
  "self_attn.out_proj.bias": { name: "attn.out_proj.bias" },
  "layer_norm1.weight": { name: "ln_1.weight" },
  "layer_norm1.bias": { name: "ln_1.bias" },
  "mlp.fc1.weight": { name: "mlp.c_fc.weight" },
  "mlp.fc1.bias": { name: "mlp.c_fc.bias" },
  "mlp.fc2.weight": { name: "mlp.c_proj.weight" },
  "mlp.fc2.bias": { name: "mlp.c_proj.bias" },
  "layer_norm2.weight": { name: "ln_2.weight" },
  "layer_norm2.bias": { name: "ln_2.bias" },
};

const HF_BLOCK = /^(vision_model|text_model)\.encoder\.layers\.(\d+)\.(.+)$/;

/**
 * Hugging Face checkpoints written by transformers < 4.31 also store these non-parameter buffers
 * (arange(0, n) position ids); transformers itself ignores them on load, and so do we.
 */
export const HF_IGNORED_BUFFERS = new Set(["text_model.embeddings.position_ids", "vision_model.embeddings.position_ids"]);

/** Maps a Hugging Face CLIPModel tensor name to its canonical target; undefined when unknown. */
export function hfToOpenaiName(hfName: string): HfNameTarget | undefined {
  const fixed = FIXED[hfName];
  if (fixed) return fixed;
  const m = HF_BLOCK.exec(hfName);
  if (!m) return undefined;
  const part = BLOCK_PART[m[3]!];
  if (!part) return undefined;
  const prefix = m[1] === "vision_model" ? "visual.transformer.resblocks" : "transformer.resblocks";
  return { ...part, name: `${prefix}.${m[2]}.${part.name}` };
}

/** Transposes a row-major 2-D matrix [rows, cols] into a new [cols, rows] one. */
export function transposeWeight2d(t: WeightTensor): WeightTensor {
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c]!;
  }
  return { data: out, shape: [cols, rows] };
}

const FIXED_REVERSE = new Map(Object.entries(FIXED).map(([hf, target]) => [target.name, { ...target, hfName: hf }]));

/**
 * The Hugging Face tensor(s) holding canonical tensor `name`: one, or three (q, k, v in that order)
 * for a fused `in_proj_*`. Undefined for names that are not parameters of OpenAI's ViT CLIP.
 */
export function openaiToHfNames(name: string): Array<HfNameTarget & { hfName: string }> | undefined {
  const fixed = FIXED_REVERSE.get(name);
  if (fixed) return [fixed];
  const block = /^(visual\.transformer|transformer)\.resblocks\.(\d+)\.(.+)$/.exec(name);
  if (!block) return undefined;
  const tower = block[1] === "transformer" ? "text_model" : "vision_model";
  const found = Object.entries(BLOCK_PART)
    .filter(([, target]) => target.name === block[3])
    .map(([suffix, target]) => ({ ...target, name, hfName: `${tower}.encoder.layers.${block[2]}.${suffix}` }));
  return found.length > 0 ? found : undefined;
}

/**
 * Canonical (OpenAI-named) weights -> Hugging Face CLIPModel names: splits `in_proj_*` into q/k/v
 * and transposes the projections. Tensors not belonging to the architecture are not accepted.
 */
export function openaiToHfWeights(weights: Map<string, WeightTensor>): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const [name, t] of weights) {
    const targets = openaiToHfNames(name);
    if (!targets) throw new InvalidArgumentError(`tensor "${name}" is not a parameter of OpenAI's ViT CLIP`);
    for (const target of targets) {
      const value = target.part !== undefined ? rowChunk(t, target.part) : target.transpose ? transposeWeight2d(t) : t;
      out.set(target.hfName, value);
    }
  }
  return out;
}

/** Rows [part*n/3, (part+1)*n/3) of a tensor whose first dimension is 3n (a fused q/k/v tensor). */
function rowChunk(t: WeightTensor, part: number): WeightTensor {
  const rows = t.shape[0]! / 3;
  const rowSize = t.data.length / t.shape[0]!;
  return {
    data: t.data.slice(part * rows * rowSize, (part + 1) * rows * rowSize),
    shape: [rows, ...t.shape.slice(1)],
  };
}
