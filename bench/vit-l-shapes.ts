/**
 * Random stand-ins of ViT-L/14-336's shapes for the model benchmarks (train, fewshot): the heads'
 * speed depends only on the shapes, so a backbone with random projections and text states, and
 * random cached features, time the same work as the real ones without weights on disk.
 */
import type { Rng } from "../src/data/random.js";
import type { ClipConfig } from "../src/clip/config.js";
import type { TextOutput } from "../src/clip/model.js";
import type { ImageFeatures } from "../src/models/common/types.js";
import { InvalidArgumentError } from "../src/errors.js";

export const W = 1024,
  WT = 768,
  E = 768,
  CTX = 77,
  PATCH = 14;

export function randn(rng: Rng, n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

/** A backbone with ViT-L/14-336's config, random projections, and random text states (EOT at 10). */
export function randomVitLBackbone(rng: Rng) {
  const config: ClipConfig = {
    embedDim: E,
    activation: "quick-gelu",
    vision: { width: W, layers: 24, heads: 16, patchSize: PATCH, imageSize: 336 },
    text: { width: WT, layers: 12, heads: 12, contextLength: CTX, vocabSize: 49408 },
    imageMean: [0.48145466, 0.4578275, 0.40821073],
    imageStd: [0.26862954, 0.26130258, 0.27577711],
  };
  return {
    config,
    fingerprint: "bench",
    weights: new Map([
      ["visual.proj", { data: randn(rng, W * E, 0.03), shape: [W, E] }],
      ["text_projection", { data: randn(rng, WT * E, 0.03), shape: [WT, E] }],
    ]),
    async encodeText(texts: string[]): Promise<TextOutput> {
      const eotIndex = texts.map(() => 10);
      return {
        n: texts.length,
        inputIds: new Int32Array(texts.length * CTX),
        eotIndex,
        lastHiddenState: randn(rng, texts.length * CTX * WT, 1),
        textEmbeds: new Float32Array(texts.length * E),
      };
    },
  };
}

/** One image's random cached features: a [grid², W] token map per hooked layer and a pooled [W] token. */
export function randomVitLFeatures(rng: Rng, layers: number[], grid: number): ImageFeatures {
  return { patchTokens: new Map(layers.map((l) => [l, randn(rng, grid * grid * W, 1)])), pooled: randn(rng, W, 1), grid, width: W };
}

/**
 * ViT-L/14-336's config with a complete random text tower (12 blocks of width 768) and the vision
 * weights the prompt learners read (ln_post, visual.proj): what the text-side benchmarks run through.
 */
export function randomVitLTextBackbone(rng: Rng) {
  const { config } = randomVitLBackbone(rng);
  const t = (shape: number[], scale: number) => ({
    data: randn(
      rng,
      shape.reduce((a, b) => a * b, 1),
      scale,
    ),
    shape,
  });
  const ones = (n: number) => ({ data: new Float32Array(n).fill(1), shape: [n] });
  const zeros = (n: number) => ({ data: new Float32Array(n), shape: [n] });
  const weights = new Map([
    ["token_embedding.weight", t([config.text.vocabSize, WT], 0.02)],
    ["positional_embedding", t([CTX, WT], 0.01)],
    ["ln_final.weight", ones(WT)],
    ["ln_final.bias", zeros(WT)],
    ["text_projection", t([WT, E], WT ** -0.5)],
    ["visual.ln_post.weight", ones(W)],
    ["visual.ln_post.bias", zeros(W)],
    ["visual.proj", t([W, E], W ** -0.5)],
  ]);
  for (let l = 0; l < config.text.layers; l++) {
    const p = `transformer.resblocks.${l}`;
    weights.set(`${p}.ln_1.weight`, ones(WT)).set(`${p}.ln_1.bias`, zeros(WT)).set(`${p}.ln_2.weight`, ones(WT)).set(`${p}.ln_2.bias`, zeros(WT));
    weights.set(`${p}.attn.in_proj_weight`, t([3 * WT, WT], WT ** -0.5)).set(`${p}.attn.in_proj_bias`, zeros(3 * WT));
    weights.set(`${p}.attn.out_proj.weight`, t([WT, WT], WT ** -0.5 / 5)).set(`${p}.attn.out_proj.bias`, zeros(WT));
    weights.set(`${p}.mlp.c_fc.weight`, t([4 * WT, WT], (2 * WT) ** -0.5)).set(`${p}.mlp.c_fc.bias`, zeros(4 * WT));
    weights.set(`${p}.mlp.c_proj.weight`, t([WT, 4 * WT], WT ** -0.5 / 5)).set(`${p}.mlp.c_proj.bias`, zeros(WT));
  }
  return {
    config,
    fingerprint: "bench-text",
    weights,
    async encodeText(): Promise<TextOutput> {
      throw new InvalidArgumentError("the text-side benchmark's backbone has no frozen text features; prompt learners run the text tower from embeddings");
    },
  };
}
