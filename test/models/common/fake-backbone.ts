/**
 * A tiny random stand-in for the frozen CLIP side (config, the weights SimCLIP initialises from, a
 * deterministic text tower) and random cached features with the contract shapes, so the heads can
 * be tested without model files.
 */
import { createRng } from "../../../src/data/random.js";
import type { ClipConfig } from "../../../src/clip/config.js";
import type { ClipWeights } from "../../../src/clip/weights.js";
import type { TextOutput } from "../../../src/clip/model.js";
import type { ImageFeatures } from "../../../src/models/common/types.js";

export interface TinyDims {
  width: number;
  textWidth: number;
  embedDim: number;
  patchSize: number;
  layers: number;
  contextLength: number;
}

export const TINY: TinyDims = { width: 12, textWidth: 10, embedDim: 8, patchSize: 4, layers: 4, contextLength: 7 };

function randn(seed: string, n: number, scale = 1): Float32Array {
  const r = createRng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r.normal() * scale;
  return a;
}

export function fakeBackbone(d: TinyDims = TINY, fingerprint = "f".repeat(64)) {
  const config: ClipConfig = {
    embedDim: d.embedDim,
    activation: "quick-gelu",
    vision: { width: d.width, layers: d.layers, heads: 1, patchSize: d.patchSize, imageSize: 8 * d.patchSize },
    text: { width: d.textWidth, layers: 1, heads: 1, contextLength: d.contextLength, vocabSize: 100 },
    imageMean: [0.5, 0.5, 0.5],
    imageStd: [0.25, 0.25, 0.25],
  };
  const weights: ClipWeights = new Map([
    ["visual.proj", { data: randn("proj", d.width * d.embedDim, 0.3), shape: [d.width, d.embedDim] }],
    ["text_projection", { data: randn("tproj", d.textWidth * d.embedDim, 0.3), shape: [d.textWidth, d.embedDim] }],
    ["visual.ln_post.weight", { data: randn("lnw", d.width, 0.1).map((x) => 1 + x), shape: [d.width] }],
    ["visual.ln_post.bias", { data: randn("lnb", d.width, 0.1), shape: [d.width] }],
  ]);
  const calls: string[][] = [];
  return {
    config,
    weights,
    fingerprint,
    calls,
    async encodeText(texts: string[]): Promise<TextOutput> {
      calls.push(texts);
      const n = texts.length;
      const L = d.contextLength;
      const lastHiddenState = new Float32Array(n * L * d.textWidth);
      const inputIds = new Int32Array(n * L);
      const eotIndex: number[] = [];
      texts.forEach((t, i) => {
        lastHiddenState.set(randn(`text:${t}`, L * d.textWidth), i * L * d.textWidth);
        const eot = Math.min(L - 1, 2 + (t.length % (L - 2)));
        eotIndex.push(eot);
        inputIds[i * L + eot] = 49407;
      });
      return { n, inputIds, eotIndex, lastHiddenState, textEmbeds: new Float32Array(n * d.embedDim) };
    },
  };
}

export function fakeFeatures(seed: string, grid: number, layers: number[], d: TinyDims = TINY): ImageFeatures {
  return {
    patchTokens: new Map(layers.map((l) => [l, randn(`${seed}:${l}`, grid * grid * d.width)])),
    pooled: randn(`${seed}:pooled`, d.width),
    grid,
    width: d.width,
  };
}
