/**
 * Independent plain-JS references for the baselines' tests, on the clip-tiny reference outputs
 * (OpenAI's CLIP on PyTorch): cached-feature records built from its hidden states, and float64
 * versions of the textbook formulas (cosine, bilinear align_corners upsampling, softmax).
 */
import { ClipModel } from "../../../src/clip/model.js";
import type { ImageFeatures } from "../../../src/models/common/types.js";
import type { TextOutput } from "../../../src/clip/model.js";
import { createRng } from "../../../src/data/random.js";
import { TINY_DIR, tinyReference } from "../../clip-model/reference.js";

export { TINY_DIR, tinyReference };

let model: Promise<ClipModel> | undefined;
export function tinyModel(): Promise<ClipModel> {
  model ??= ClipModel.load(TINY_DIR);
  return model;
}

/** The cache's record of reference image `i`: raw patch tokens of every block (class token dropped) and ln_post'd class token. */
export function referenceFeatures(i: number): ImageFeatures {
  const ref = tinyReference();
  const v = ref.vision[ref.images[i]!]!;
  const L = v.hidden_states.length;
  return {
    patchTokens: new Map(v.hidden_states.map((h, l) => [l + 1, Float32Array.from(h.slice(1).flat())])),
    pooled: Float32Array.from(v.patch_tokens_ln_post[L - 1]![0]!),
    grid: 8,
    width: 128,
  };
}

export function matVec(rowVec: number[], m: Float32Array, cols: number): number[] {
  const out = new Array<number>(cols).fill(0);
  rowVec.forEach((x, k) => {
    for (let j = 0; j < cols; j++) out[j]! += x * m[k * cols + j]!;
  });
  return out;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

/** torch.nn.functional.interpolate(mode="bilinear", align_corners=True) of one g x g map to S x S. */
export function bilinearAlignCorners(map: number[], g: number, S: number): number[] {
  const out = new Array<number>(S * S);
  const at = (y: number, x: number) => map[y * g + x]!;
  for (let Y = 0; Y < S; Y++) {
    const sy = (Y * (g - 1)) / (S - 1);
    const y0 = Math.min(Math.floor(sy), g - 1),
      y1 = Math.min(y0 + 1, g - 1),
      wy = sy - y0;
    for (let X = 0; X < S; X++) {
      const sx = (X * (g - 1)) / (S - 1);
      const x0 = Math.min(Math.floor(sx), g - 1),
        x1 = Math.min(x0 + 1, g - 1),
        wx = sx - x0;
      out[Y * S + X] = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
    }
  }
  return out;
}

export function softmax2(a: number, b: number): number {
  const m = Math.max(a, b);
  return Math.exp(b - m) / (Math.exp(a - m) + Math.exp(b - m));
}

/** The fake backbone's text tower returns zero text embeddings; give each prompt a deterministic random one. */
export function withTextEmbeds<T extends { encodeText(texts: string[]): Promise<TextOutput>; config: { embedDim: number } }>(b: T): T {
  const inner = b.encodeText.bind(b);
  return Object.assign(b, {
    async encodeText(texts: string[]): Promise<TextOutput> {
      const out = await inner(texts);
      const E = b.config.embedDim;
      texts.forEach((t, i) => {
        const r = createRng(`embed:${t}`);
        for (let k = 0; k < E; k++) out.textEmbeds[i * E + k] = r.normal();
      });
      return out;
    },
  });
}
