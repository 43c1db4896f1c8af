/**
 * The ONNX graphs of CLIP's towers: one per (tower, input size, requested layers, ln_post), batch
 * dimension symbolic. Built from `architecture.ts` with the ONNX executor of `ClipOps`.
 */
import type { ClipConfig } from "../config.js";
import type { ClipWeights } from "../weights.js";
import { textTokenEmbeds, textTower, visionTower } from "../architecture.js";
import { OnnxGraphBuilder } from "./graph-builder.js";

export interface VisionGraphSpec {
  size: number;
  layers: number[];
  lnPost: boolean;
}

export const visionOutputName = (layer: number): string => `hidden_${layer}`;

/** Inputs: pixel_values [batch, 3, size, size]. Outputs: hidden_<l> per layer, pooled, image_embeds. */
export function buildVisionGraph(weights: ClipWeights, config: ClipConfig, spec: VisionGraphSpec): Uint8Array {
  const grid = spec.size / config.vision.patchSize;
  const tokens = 1 + grid * grid;
  const { width } = config.vision;
  const b = new OnnxGraphBuilder(`clip_vision_${spec.size}`);
  const pixels = b.input("pixel_values", "float32", ["batch", 3, spec.size, spec.size]);
  const out = visionTower(b, weights, config, pixels, { grid, layers: spec.layers, lnPost: spec.lnPost });
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
