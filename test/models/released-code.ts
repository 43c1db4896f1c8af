/**
 * What the tests against the authors' released code share: the tiny backbone written as the released
 * loader held it, images grouped by class, float32 training items, and one optimiser step checked
 * parameter by parameter.
 */
import assert from "node:assert/strict";
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import type { tf } from "../../src/tf.js";
import { variableKey } from "../../src/models/common/init.js";
import { writeSafetensors } from "../../src/clip/safetensors.js";
import type { WeightTensor } from "../../src/clip/weights.js";
import type { ClipModel } from "../../src/clip/model.js";
import { loadMask } from "../../src/clip/preprocess.js";
import { clipFeatureSource } from "../../src/cache/index.js";
import type { Sample } from "../../src/data/index.js";
import { samplesTrainSource } from "../../src/models/common/train-data.js";
import type { ImageFeatures, TrainItem, TrainSource } from "../../src/models/common/types.js";

export const TINY = path.join(import.meta.dirname, "../fixtures/clip-tiny");

/** A model directory at `dir` holding `weights` with the tiny CLIP's config and tokenizer files. */
export async function writeBackboneDir(dir: string, weights: Map<string, WeightTensor>): Promise<void> {
  await mkdir(dir);
  await writeSafetensors(path.join(dir, "open_clip_model.safetensors"), weights, {});
  for (const f of ["config.json", "vocab.json", "merges.txt", "preprocessor_config.json", "tokenizer_config.json", "special_tokens_map.json"]) {
    await copyFile(path.join(TINY, f), path.join(dir, f));
  }
}

/** The classes of a run, each with its images in the released order. */
export function byClass<T extends { cls_name: string }>(images: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const im of images) out.set(im.cls_name, [...(out.get(im.cls_name) ?? []), im]);
  return out;
}

/** Training items with float32 features straight from the backbone, as the released train.py has them (the feature cache stores float16). */
export async function float32TrainItems(
  model: ClipModel,
  samples: Sample[],
  size: number,
  layers: number[],
): Promise<{ source: TrainSource; items: TrainItem[] }> {
  const extracted = new Map<string, ImageFeatures>();
  const clip = clipFeatureSource(model, { size, layers });
  const features = {
    ensure: async (paths: string[]) =>
      (await clip.extract(paths)).forEach((f, i) => {
        extracted.set(paths[i]!, f);
      }),
    get: async (p: string) => extracted.get(p)!,
  };
  const source = await samplesTrainSource(samples, { features, loadMask, size });
  return { source, items: await Promise.all(samples.map((_, i) => source.get(i))) };
}

/**
 * One optimiser step of a released training script, checked parameter by parameter. Adam's first
 * step moves each parameter by lr * g / (|g| + 1e-8): where |g| is near 1e-8, float32 noise in g
 * decides the step, in PyTorch as here, so those elements (|g| < 1e-7; at most 1%) are left out.
 */
export function assertParametersAfterStep(
  variables: tf.Variable[],
  wantAfter: Map<string, { data: Float32Array }>,
  wantGrad: Map<string, { data: Float32Array }>,
): void {
  let total = 0;
  let illConditioned = 0;
  for (const v of variables) {
    const got = v.dataSync() as Float32Array;
    const want = wantAfter.get(variableKey(v))!.data;
    const grad = wantGrad.get(variableKey(v))!.data;
    total += got.length;
    for (let i = 0; i < got.length; i++) {
      if (Math.abs(grad[i]!) < 1e-7) {
        illConditioned++;
        continue;
      }
      assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-4, `${variableKey(v)}[${i}] after the step: ${got[i]} vs ${want[i]}`);
    }
  }
  assert.ok(illConditioned <= total * 0.01, `${illConditioned} of ${total} parameters have |gradient| < 1e-7`);
}
