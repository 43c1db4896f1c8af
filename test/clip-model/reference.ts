/** The clip-tiny reference outputs (OpenAI's CLIP code on PyTorch; see test/fixtures/clip-tiny/README.md). */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

export const TINY_DIR = fileURLToPath(new URL("../fixtures/clip-tiny", import.meta.url));

export interface TinyReference {
  images: string[];
  prompts: string[];
  preprocess: Record<string, number[][][]>;
  vision: Record<string, { hidden_states: number[][][]; patch_tokens_ln_post: number[][][]; image_embeds: number[] }>;
  text: { text: string; input_ids: number[]; eot_index: number; last_hidden_state: number[][]; text_embeds: number[] }[];
  logit_scale_exp: number;
  logits_per_image: number[][];
}

let cached: TinyReference | undefined;
export function tinyReference(): TinyReference {
  cached ??= JSON.parse(readFileSync(`${TINY_DIR}/reference.json`, "utf8")) as TinyReference;
  return cached;
}

/** All reference pixel values, [5, 3, 64, 64] flat, in `images` order. */
export function referencePixels(ref = tinyReference()): Float32Array {
  const per = 3 * 64 * 64;
  const out = new Float32Array(ref.images.length * per);
  ref.images.forEach((name, i) => {
    out.set(ref.preprocess[name]!.flat(2), i * per);
  });
  return out;
}

export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, "length");
  let m = 0;
  for (let i = 0; i < actual.length; i++) m = Math.max(m, Math.abs(actual[i]! - expected[i]!));
  return m;
}

/** The fixtures' bound: 1e-4 (about 20x the float32 noise of the reference itself). */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-4): void {
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol, `${what}: max abs error ${d} > ${tol}`);
}
