/**
 * The ONNX graphs of CLIP's towers: one per (tower, input size, requested layers, ln_post), batch
 * dimension symbolic. Built from `architecture.ts` with the ONNX executor of `ClipOps`.
 */
import type { ClipConfig } from "../config.js";
import type { ClipWeights } from "../weights.js";
import { checkDeepTextPrompts, textTokenEmbeds, textTower, visionTower } from "../architecture.js";
import { OnnxGraphBuilder } from "./graph-builder.js";
import { Tape } from "../autodiff/tape.js";
import { buildVjpGraphs, type VjpGraphs } from "../autodiff/vjp-graphs.js";

export interface VisionGraphSpec {
  size: number;
  layers: number[];
  lnPost: boolean;
  /** AnomalyCLIP's DPAM variant (`VisionTowerOptions.dpam`). */
  dpam?: { blocks: number };
}

export const visionOutputName = (layer: number): string => `hidden_${layer}`;

/** Inputs: pixel_values [batch, 3, size, size]. Outputs: hidden_<l> per layer, pooled, image_embeds. */
export function buildVisionGraph(weights: ClipWeights, config: ClipConfig, spec: VisionGraphSpec): Uint8Array {
  const grid = spec.size / config.vision.patchSize;
  const tokens = 1 + grid * grid;
  const { width } = config.vision;
  const b = new OnnxGraphBuilder(`clip_vision_${spec.size}`);
  const pixels = b.input("pixel_values", "float32", ["batch", 3, spec.size, spec.size]);
  const out = visionTower(b, weights, config, pixels, { grid, layers: spec.layers, lnPost: spec.lnPost, dpam: spec.dpam });
  for (const [l, t] of out.hidden) b.output(t, visionOutputName(l), ["batch", tokens, width]);
  b.output(out.pooled, "pooled", ["batch", width]);
  b.output(out.imageEmbeds, "image_embeds", ["batch", config.embedDim]);
  return b.toBytes();
}

/**
 * Inputs: input_ids [batch, ctx] int64, eot_onehot [batch, 1, ctx] float (1 at the EOT position).
 * Outputs: last_hidden_state [batch, ctx, width], text_embeds [batch, embedDim].
 */
export function buildTextGraph(weights: ClipWeights, config: ClipConfig): Uint8Array {
  const { contextLength: ctx, width } = config.text;
  const b = new OnnxGraphBuilder("clip_text");
  const ids = b.input("input_ids", "int64", ["batch", ctx]);
  const eot = b.input("eot_onehot", "float32", ["batch", 1, ctx]);
  const out = textTower(b, weights, config, textTokenEmbeds(b, weights, ids), eot);
  b.output(out.lastHiddenState, "last_hidden_state", ["batch", ctx, width]);
  b.output(out.textEmbeds, "text_embeds", ["batch", config.embedDim]);
  return b.toBytes();
}

export interface TextVjpSpec {
  /** Deep text prompts (`DeepTextPrompts` in architecture.ts), a graph input when given. */
  deep?: { depth: number; length: number };
}

/**
 * The text tower from token embeddings, differentiable with respect to them (and the deep prompts),
 * on sequences of `length` tokens (default: the context length; `TextTowerOptions.length`).
 * Inputs: input_embeds [batch, length, width], eot_onehot [batch, 1, length], deep_prompts [depth,
 * deep length, width] if the spec has them. Outputs: pooled [batch, width] (ln_final at the EOT
 * position) and text_embeds [batch, embedDim]; the backward graph returns grad_input_embeds (and
 * grad_deep_prompts).
 */
export function buildTextVjpGraphs(weights: ClipWeights, config: ClipConfig, spec: TextVjpSpec = {}, length = config.text.contextLength): VjpGraphs {
  const { width } = config.text;
  if (spec.deep) checkDeepTextPrompts(config, spec.deep.depth, spec.deep.length);
  const tape = new Tape();
  const embeds = tape.input("input_embeds", [-1, length, width], true);
  const eot = tape.input("eot_onehot", [-1, 1, length], false);
  const deep = spec.deep && { ...spec.deep, prompts: tape.input("deep_prompts", [spec.deep.depth, spec.deep.length, width], true) };
  const out = textTower(tape, weights, config, embeds, eot, { deep, length });
  return buildVjpGraphs("clip_text", tape, [
    { name: "pooled", node: out.pooled },
    { name: "text_embeds", node: out.textEmbeds },
  ]);
}
