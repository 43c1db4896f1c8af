/**
 * The authors' AnomalyCLIP checkpoint (`train.py`: `torch.save({"prompt_learner":
 * AnomalyCLIP_PromptLearner.state_dict()})`, e.g. `epoch_15.pth`) as our prompt learner's state. The
 * prompt length and depth are read from the tensor shapes: `ctx_pos` / `ctx_neg` [1, 1, n_ctx, Wt]
 * (normal / anomalous context), `compound_prompts_text.{i}` [t_n_ctx, Wt] for i < depth - 1. The
 * `compound_prompt_projections` are saved but never used by the released forward pass, so they are
 * not read; the token buffers (`token_prefix_*`, `token_suffix_*`) are checked against the backbone,
 * since they are its token embeddings of the two prompts.
 */
import path from "node:path";
import { readdir } from "node:fs/promises";
import { readTorchCheckpoint, torchStateDict } from "../../clip/torch-checkpoint.js";
import type { WeightTensor } from "../../clip/weights.js";
import { FileFormatError, MissingFileError } from "../../errors.js";
import { statOrUndefined } from "../../fs-stat.js";
import { CheckpointMismatchError, type LoadedCheckpoint } from "../common/checkpoint.js";
import type { ReleasedBackbone, ReleasedCheckpointFormat } from "../common/released-checkpoint.js";
import type { MethodState } from "../common/types.js";
import { placeholderPrefix } from "../coop/context.js";

export const RELEASED_ANOMALYCLIP_KEY = "prompt_learner";

/** What a converted released checkpoint records in its config, so the factory knows its run settings are free. */
export const RELEASED_ANOMALYCLIP_ORIGIN = "released-anomalyclip";

/**
 * The `.pth` file `p` names: itself when it is a file, else the only `.pth` in the directory `p`;
 * undefined when `p` is a directory without one.
 */
export async function releasedAnomalyClipFile(p: string): Promise<string | undefined> {
  const st = await statOrUndefined(p);
  if (!st) throw new MissingFileError(p, "no such checkpoint file or directory");
  if (!st.isDirectory()) return p;
  const pth = (await readdir(p)).filter((f) => f.endsWith(".pth"));
  if (pth.length > 1)
    throw new FileFormatError(p, `expected one AnomalyCLIP checkpoint (.pth) in the directory, found ${pth.length}: ${pth.join(", ")}; pass the file`);
  return pth.length === 1 ? path.join(p, pth[0]!) : undefined;
}

function need(sd: Map<string, WeightTensor>, name: string, file: string, shape: (number | null)[]): WeightTensor {
  const t = sd.get(name);
  if (!t) throw new FileFormatError(file, `"${RELEASED_ANOMALYCLIP_KEY}" has no "${name}"; its keys are ${[...sd.keys()].join(", ")}`);
  if (t.shape.length !== shape.length || shape.some((d, i) => d !== null && d !== t.shape[i])) {
    throw new FileFormatError(file, `"${name}" has shape [${t.shape.join(", ")}], expected [${shape.map((d) => d ?? "*").join(", ")}]`);
  }
  return t;
}

/** The token buffers must be this backbone's token embeddings of the prompt (`what`): else another CLIP trained it. */
function checkTokenBuffers(sd: Map<string, WeightTensor>, file: string, state: "pos" | "neg", text: string, nCtx: number, b: ReleasedBackbone): void {
  const { width, contextLength } = b.config.text;
  const table = b.weights.get("token_embedding.weight");
  if (!table) throw new CheckpointMismatchError(file, "the backbone has no token_embedding.weight");
  const ids = b.tokenizer.tokenize([text], contextLength);
  const prefix = need(sd, `token_prefix_${state}`, file, [1, 1, 1, width]);
  const suffix = need(sd, `token_suffix_${state}`, file, [1, 1, contextLength - 1 - nCtx, width]);
  let worst = 0;
  const compare = (rows: WeightTensor, first: number) => {
    const n = rows.data.length / width;
    for (let r = 0; r < n; r++) {
      const id = ids[first + r]!;
      for (let c = 0; c < width; c++) worst = Math.max(worst, Math.abs(rows.data[r * width + c]! - table.data[id * width + c]!));
    }
  };
  compare(prefix, 0);
  compare(suffix, 1 + nCtx);
  if (worst > 1e-6) {
    throw new CheckpointMismatchError(
      file,
      `its token_prefix_${state} / token_suffix_${state} differ from this backbone's token embeddings of "${text}" by up to ${worst}: it was trained on another CLIP; pass that --model`,
    );
  }
}

/** The released prompt learner of `file` as a prompt-learner state of variant "anomalyclip" on `backbone`. */
export async function readReleasedAnomalyClip(file: string, backbone: ReleasedBackbone): Promise<LoadedCheckpoint> {
  return releasedAnomalyClipState(await readPromptLearner(file), file, backbone);
}

async function readPromptLearner(file: string): Promise<Map<string, WeightTensor>> {
  return torchStateDict(await readTorchCheckpoint(file), file, RELEASED_ANOMALYCLIP_KEY, { skipIntegerTensors: true });
}

function releasedAnomalyClipState(sd: Map<string, WeightTensor>, file: string, backbone: ReleasedBackbone): LoadedCheckpoint {
  const { width } = backbone.config.text;
  const pos = need(sd, "ctx_pos", file, [1, 1, null, null]);
  if (pos.shape[3] !== width)
    throw new CheckpointMismatchError(
      file,
      `its context vectors have width ${pos.shape[3]}, this backbone's text tower ${width}: pass the CLIP it was trained with`,
    );
  const nCtx = pos.shape[2]!;
  const neg = need(sd, "ctx_neg", file, [1, 1, nCtx, width]);
  const deep: WeightTensor[] = [];
  for (let i = 0; sd.has(`compound_prompts_text.${i}`); i++) deep.push(need(sd, `compound_prompts_text.${i}`, file, [deep[0]?.shape[0] ?? null, width]));
  const x = placeholderPrefix(nCtx);
  checkTokenBuffers(sd, file, "pos", `${x} object.`, nCtx, backbone);
  checkTokenBuffers(sd, file, "neg", `${x} damaged object.`, nCtx, backbone);
  const context = new Float32Array(2 * nCtx * width);
  context.set(pos.data, 0);
  context.set(neg.data, nCtx * width);
  const tensors: MethodState["tensors"] = new Map([["prompt_context", { data: context, shape: [2, nCtx, width] }]]);
  const tNCtx = deep[0]?.shape[0];
  if (tNCtx !== undefined) {
    const prompts = new Float32Array(deep.length * tNCtx * width);
    deep.forEach((t, i) => {
      prompts.set(t.data, i * tNCtx * width);
    });
    tensors.set("deep_text_prompts", { data: prompts, shape: [deep.length, tNCtx, width] });
  }
  const promptLearner = {
    variant: "anomalyclip",
    contextLength: nCtx,
    deepTextPrompts: tNCtx === undefined ? undefined : { depth: deep.length, length: tNCtx },
    deepPromptsHalf: tNCtx !== undefined,
  };
  return {
    dir: file,
    backboneFingerprint: backbone.fingerprint,
    activation: "quick-gelu",
    state: { method: "anomalyclip", config: { promptLearner, backbone: backbone.fingerprint, origin: RELEASED_ANOMALYCLIP_ORIGIN }, tensors },
  };
}

/**
 * `--checkpoint` for `--method anomalyclip`: its `.pth` or a directory holding one. The file fixes
 * neither the size nor the hooked layers (DPAM, size and layers are the run's options); the activation
 * is the method's (`anomalyClipMethod.activation`).
 */
export const releasedAnomalyClipFormat: ReleasedCheckpointFormat = {
  description: "an AnomalyCLIP prompt_learner .pth (a file, or a directory holding one)",
  holds: async (location) => (await releasedAnomalyClipFile(location)) !== undefined,
  read: async (location) => {
    const file = (await releasedAnomalyClipFile(location))!;
    const sd = await readPromptLearner(file);
    return { checkpoint: (backbone) => releasedAnomalyClipState(sd, file, backbone) };
  },
};
