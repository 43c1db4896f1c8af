/**
 * The backbone and the checkpoint of `eval`, `predict` and `convert-checkpoint`, opened together
 * because each decides something about the other: the checkpoint says which activation the backbone
 * was trained with (ours record it; the authors' were trained with the released rule at their size),
 * and the authors' checkpoint is checked against the backbone's frozen tensors.
 */
import path from "node:path";
import { Option } from "commander";
import type { ClipActivation } from "../clip/config.js";
import { ClipModel } from "../clip/model.js";
import { InvalidArgumentError, MissingFileError } from "../errors.js";
import { statOrUndefined } from "../fs-stat.js";
import { CHECKPOINT_CONFIG, loadCheckpoint, type LoadedCheckpoint } from "../models/common/checkpoint.js";
import { SIMCLIP_DEFAULTS } from "../models/simclip/config.js";
import {
  RELEASED_ADAPTER_FILE, RELEASED_CLIP_FILE, isReleasedSimClipDir, readReleasedSimClip, releasedSimClipCheckpoint,
} from "../models/simclip/released-checkpoint.js";
import { readReleasedAnomalyClip, releasedAnomalyClipFile } from "../models/anomalyclip/released-checkpoint.js";

export interface BackboneCliOptions {
  model: string;
  checkpoint?: string;
  size?: number;
  layers?: number[];
  activation?: ClipActivation;
  threads?: number;
}

/** `--activation`, shared by every command that loads the backbone for a method. */
export function activationOption(defaultText: string): Option {
  return new Option(
    "--activation <name>",
    `MLP activation of both CLIP towers: quick-gelu (OpenAI CLIP as trained) or gelu (exact GELU, what the released SimCLIP code runs away from the native size) (default: ${defaultText})`,
  ).choices(["gelu", "quick-gelu"]);
}

export interface OpenedBackbone {
  model: ClipModel;
  checkpoint?: LoadedCheckpoint;
  /** "ours", "released" (the authors' SimCLIP clip.pth + visionAdapter.pth), "released-anomalyclip" (its prompt_learner .pth) or none. */
  checkpointKind?: "ours" | "released" | "released-anomalyclip";
}

async function checkpointKind(dir: string): Promise<"ours" | "released" | "released-anomalyclip"> {
  const st = await statOrUndefined(dir);
  if (st?.isDirectory() && (await statOrUndefined(path.join(dir, CHECKPOINT_CONFIG)))) return "ours";
  if (st?.isDirectory() && (await isReleasedSimClipDir(dir))) return "released";
  if (st && (await releasedAnomalyClipFile(dir))) return "released-anomalyclip";
  throw new MissingFileError(
    dir,
    `not a checkpoint: expected ${CHECKPOINT_CONFIG} (a "simclip train --out" directory), the authors' SimCLIP ${RELEASED_CLIP_FILE} + ${RELEASED_ADAPTER_FILE}, or an AnomalyCLIP prompt_learner .pth (a file or a directory holding one)`,
  );
}

/** The authors' AnomalyCLIP prompts: QuickGELU unless --activation says otherwise (its own CLIP runs QuickGELU at every size). */
async function openReleasedAnomalyClip(o: BackboneCliOptions & { checkpoint: string }): Promise<OpenedBackbone> {
  const file = (await releasedAnomalyClipFile(o.checkpoint))!;
  const model = await ClipModel.load(o.model, { threads: o.threads, activation: o.activation ?? "quick-gelu" });
  try {
    return { model, checkpoint: await readReleasedAnomalyClip(file, model), checkpointKind: "released-anomalyclip" };
  } catch (err) {
    await model.dispose();
    throw err;
  }
}

/**
 * The activation: `--activation`, else the checkpoint's (ours record it; one written before that was
 * trained with the weights' own), else the released rule at the run size (default 518).
 */
export async function openBackboneAndCheckpoint(o: BackboneCliOptions): Promise<OpenedBackbone> {
  const load = (activation: ClipActivation | undefined, size: number | undefined) =>
    ClipModel.load(o.model, { threads: o.threads, ...(activation ? { activation } : {}), ...(size !== undefined ? { size } : {}) });
  if (!o.checkpoint) return { model: await load(o.activation, o.size ?? SIMCLIP_DEFAULTS.size) };
  const kind = await checkpointKind(o.checkpoint);
  if (kind === "released-anomalyclip") return openReleasedAnomalyClip({ ...o, checkpoint: o.checkpoint });
  if (kind === "ours") {
    const checkpoint = await loadCheckpoint(o.checkpoint);
    if (o.activation && checkpoint.activation && o.activation !== checkpoint.activation) {
      throw new InvalidArgumentError(`--activation ${o.activation}: the checkpoint ${o.checkpoint} was trained with ${checkpoint.activation}; omit --activation`);
    }
    const activation = o.activation ?? checkpoint.activation;
    // Without a recorded activation, no size: the weights' own activation, as such checkpoints were trained.
    return { model: await load(activation, undefined), checkpoint, checkpointKind: kind };
  }
  const files = await readReleasedSimClip(o.checkpoint);
  if (o.size !== undefined && o.size !== files.size) {
    throw new InvalidArgumentError(`--size ${o.size}: the released checkpoint in ${o.checkpoint} was trained at ${files.size} (its positional embedding's grid); omit --size`);
  }
  const model = await load(o.activation, files.size);
  try {
    return { model, checkpoint: releasedSimClipCheckpoint(files, model, o.layers), checkpointKind: kind };
  } catch (err) {
    await model.dispose();
    throw err;
  }
}
