/**
 * The SimCLIP authors' released checkpoints: a directory with `clip.pth` = {'clip': state_dict of their
 * modified CLIP} (frozen backbone incl. the resized positional embedding, the trained `visual.proj` and
 * `text_projection`, the IPT parameters) and `visionAdapter.pth` = {'trainable_linearlayer':
 * {'fc.<i>.weight', 'fc.<i>.bias'}} (the MHVA adapters, one per hooked layer in hooked order).
 *
 * They are read with the restricted .pth reader and turned into our checkpoint state, so that every
 * command that takes `--checkpoint` (eval, predict, serve) runs them, and `convert-checkpoint` can
 * save them in our format. The frozen tensors inside `clip.pth` must equal the backbone's: a
 * checkpoint trained on other weights would otherwise run silently on the wrong backbone.
 */
import path from "node:path";
import type { ClipConfig } from "../../clip/config.js";
import { interpolatePosEmbed } from "../../clip/pos-embed.js";
import { readTorchCheckpoint, torchStateDict } from "../../clip/torch-checkpoint.js";
import type { ClipWeights, WeightTensor } from "../../clip/weights.js";
import { FileFormatError } from "../../errors.js";
import { statOrUndefined } from "../../fs-stat.js";
import { CheckpointMismatchError, type LoadedCheckpoint } from "../common/checkpoint.js";
import type { ReleasedBackbone, ReleasedCheckpointFormat } from "../common/released-checkpoint.js";
import type { MethodState } from "../common/types.js";
import { quarterLayers } from "../components/geometry.js";
import { RELEASED_LINEAR_LAYER_KEY, releasedLinearLayerTensors, transposed } from "../components/released-linear-layer.js";
import { SIMCLIP_DEFAULTS, resolveSimClipConfig, type SimClipConfig } from "./config.js";
import { SIMCLIP_METHOD, simclipDims } from "./model.js";

export const RELEASED_CLIP_FILE = "clip.pth";
export const RELEASED_ADAPTER_FILE = "visionAdapter.pth";

/** Parameters of the released CLIP that nothing reads (the class-level IPT branch, CLIP's logit scale). */
const UNUSED = /^(logit_scale|class_learner|class_learner_upProj\.|class_learner_proj\.)/;
/** The released IPT parameters and their keys in our state (`ipt.ts`). */
const IPT_KEYS = new Set([
  "x_learner_proj.linear.weight",
  "x_learner_proj.linear.bias",
  "layer_learner_1",
  "layer_learner_1_upProj.0.weight",
  "layer_learner_1_upProj.0.bias",
  "layer_learner_1_upProj.2.weight",
  "layer_learner_1_upProj.2.bias",
  "layer_learner_1_proj.linear.weight",
  "layer_learner_1_proj.linear.bias",
]);
const TRAINED_PROJECTIONS = new Set(["visual.proj", "text_projection"]);

/** Both released files as float32 state dicts, with the input size their positional embedding was resized to. */
export interface ReleasedSimClipFiles {
  dir: string;
  clip: Map<string, WeightTensor>;
  adapter: Map<string, WeightTensor>;
  /** Input size S = grid x patch, from `visual.positional_embedding` and `visual.conv1.weight`. */
  size: number;
}

/** True when `dir` holds the authors' two files (and so is not one of our checkpoints). */
export async function isReleasedSimClipDir(dir: string): Promise<boolean> {
  const [clip, adapter] = await Promise.all([statOrUndefined(path.join(dir, RELEASED_CLIP_FILE)), statOrUndefined(path.join(dir, RELEASED_ADAPTER_FILE))]);
  return Boolean(clip?.isFile() && adapter?.isFile());
}

function need(map: Map<string, WeightTensor>, key: string, where: string, rank: number): WeightTensor {
  const t = map.get(key);
  if (!t) throw new FileFormatError(where, `tensor "${key}" is missing; expected the authors' ${path.basename(where)}`);
  if (t.shape.length !== rank) throw new FileFormatError(where, `tensor "${key}" has shape [${t.shape}], expected a ${rank}-d tensor`);
  return t;
}

export async function readReleasedSimClip(dir: string): Promise<ReleasedSimClipFiles> {
  const clipPath = path.join(dir, RELEASED_CLIP_FILE);
  const adapterPath = path.join(dir, RELEASED_ADAPTER_FILE);
  const clip = torchStateDict(await readTorchCheckpoint(clipPath), clipPath, "clip");
  const adapter = torchStateDict(await readTorchCheckpoint(adapterPath), adapterPath, RELEASED_LINEAR_LAYER_KEY);
  const pos = need(clip, "visual.positional_embedding", clipPath, 2);
  const patch = need(clip, "visual.conv1.weight", clipPath, 4).shape[3]!;
  const grid = Math.round(Math.sqrt(pos.shape[0]! - 1));
  if (grid * grid + 1 !== pos.shape[0]) throw new FileFormatError(clipPath, `visual.positional_embedding has ${pos.shape[0]} rows, expected 1 + grid^2`);
  return { dir, clip, adapter, size: grid * patch };
}

const reshaped = (t: WeightTensor, shape: number[]): WeightTensor => ({ data: t.data, shape });

/**
 * Largest |a - b| relative to max(1, |b|) over the elements: the released weights went through
 * PyTorch (and the positional embedding through its bicubic resize), ours through our loader.
 */
function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

/**
 * Tolerance of the frozen-tensor check. The released loader rounds every linear and convolution weight
 * to float16 before loading (OpenAI's own checkpoints are float16, so for them nothing changes), which
 * moves float32 weights by up to 2^-11 relative; other weights differ by O(1).
 */
const FROZEN_TOLERANCE = 1e-3;

/** Every backbone tensor of `clip.pth` equals the model's (positional embedding resized to the checkpoint's grid). */
function checkFrozenBackbone(files: ReleasedSimClipFiles, weights: ClipWeights, config: ClipConfig): void {
  const where = path.join(files.dir, RELEASED_CLIP_FILE);
  const grid = files.size / config.vision.patchSize;
  for (const [name, ours] of weights) {
    if (TRAINED_PROJECTIONS.has(name)) continue;
    const theirs = files.clip.get(name);
    if (!theirs) throw new CheckpointMismatchError(where, `backbone tensor "${name}" is missing from it`);
    const expected = name === "visual.positional_embedding" ? interpolatePosEmbed(ours, grid) : ours;
    if (theirs.shape.join(",") !== expected.shape.join(",")) {
      throw new CheckpointMismatchError(
        where,
        `backbone tensor "${name}" has shape [${theirs.shape}], the --model's is [${expected.shape}]: pass the CLIP the checkpoint was trained on`,
      );
    }
    const err = maxRelativeError(theirs.data, expected.data);
    if (!(err <= FROZEN_TOLERANCE)) {
      throw new CheckpointMismatchError(
        where,
        `backbone tensor "${name}" differs from the --model's (max relative error ${err.toExponential(2)} > ${FROZEN_TOLERANCE}): pass the CLIP the checkpoint was trained on`,
      );
    }
  }
  const unknown = [...files.clip.keys()].filter((k) => !weights.has(k) && !IPT_KEYS.has(k) && !UNUSED.test(k));
  if (unknown.length > 0)
    throw new FileFormatError(
      where,
      `unexpected tensors ${unknown.slice(0, 5).join(", ")}${unknown.length > 5 ? ", ..." : ""}: not a released SimCLIP clip.pth`,
    );
}

/**
 * The released trainable tensors (IPT, the two projections from `clip`; the adapters `fc.<i>` from
 * `adapter`) under our variable keys and layouts, adapter i serving hooked layer `layers[i]`.
 */
export function releasedTrainableTensors(
  clip: Map<string, WeightTensor>,
  adapter: Map<string, WeightTensor>,
  layers: number[],
  where: { clip: string; adapter: string },
): MethodState["tensors"] {
  const tensors = releasedLinearLayerTensors(adapter, layers, where.adapter);
  const c = (key: string, rank: number) => need(clip, key, where.clip, rank);
  const tokenWeight = c("x_learner_proj.linear.weight", 2);
  tensors.set("ipt.token_weight", reshaped(tokenWeight, [tokenWeight.shape[1]!, 1]));
  tensors.set("ipt.token_bias", c("x_learner_proj.linear.bias", 1));
  const seed = c("layer_learner_1", 3);
  tensors.set("ipt.prompt_seed", reshaped(seed, [1, seed.shape[2]!]));
  tensors.set("ipt.mlp1.weight", transposed(c("layer_learner_1_upProj.0.weight", 2)));
  tensors.set("ipt.mlp1.bias", c("layer_learner_1_upProj.0.bias", 1));
  tensors.set("ipt.mlp2.weight", transposed(c("layer_learner_1_upProj.2.weight", 2)));
  tensors.set("ipt.mlp2.bias", c("layer_learner_1_upProj.2.bias", 1));
  tensors.set("ipt.mix.weight", reshaped(c("layer_learner_1_proj.linear.weight", 2), [2]));
  tensors.set("ipt.mix.bias", c("layer_learner_1_proj.linear.bias", 1));
  tensors.set("visual_projection", c("visual.proj", 2));
  tensors.set("text_projection", c("text_projection", 2));
  return tensors;
}

/**
 * Our checkpoint state for the released files on `backbone`. `layers`: the hooked blocks, one per
 * adapter in order (default: four spread over the depth, the authors' 6, 12, 18, 24 on ViT-L/14).
 */
export function releasedSimClipCheckpoint(files: ReleasedSimClipFiles, backbone: ReleasedBackbone, layers?: number[]): LoadedCheckpoint {
  const clipPath = path.join(files.dir, RELEASED_CLIP_FILE);
  const adapterPath = path.join(files.dir, RELEASED_ADAPTER_FILE);
  checkFrozenBackbone(files, backbone.weights, backbone.config);
  const hooked = layers ?? quarterLayers(backbone.config);
  const tensors = releasedTrainableTensors(files.clip, files.adapter, hooked, { clip: clipPath, adapter: adapterPath });
  const dims = simclipDims(backbone.config);
  const seed = need(files.clip, "layer_learner_1", clipPath, 3);
  const config: SimClipConfig = resolveSimClipConfig(
    {
      ...SIMCLIP_DEFAULTS,
      size: files.size,
      layers: hooked,
      iptSeedDim: seed.shape[2]!,
      iptHidden: need(files.clip, "layer_learner_1_upProj.0.weight", clipPath, 2).shape[0]!,
    },
    dims,
  );
  return {
    dir: files.dir,
    backboneFingerprint: backbone.fingerprint,
    state: { method: SIMCLIP_METHOD, config: { simclip: config, dims, backbone: backbone.fingerprint }, tensors },
  };
}

/** The authors' directory, for `--checkpoint` of the SimCLIP methods; its size is the one it was trained at. */
export const releasedSimClipFormat: ReleasedCheckpointFormat = {
  description: `the authors' ${RELEASED_CLIP_FILE} + ${RELEASED_ADAPTER_FILE}`,
  holds: isReleasedSimClipDir,
  read: async (dir) => {
    const files = await readReleasedSimClip(dir);
    return { size: files.size, checkpoint: (backbone, _size, layers) => releasedSimClipCheckpoint(files, backbone, layers) };
  },
};
