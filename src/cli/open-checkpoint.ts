/**
 * The backbone and the checkpoint of `eval`, `predict` and `convert-checkpoint`, opened together
 * because each decides something about the other: the checkpoint says which activation the backbone
 * was trained with (ours record it; the authors' were trained with the released rule at their size),
 * and the authors' checkpoint is checked against the backbone. Which authors' format `--checkpoint`
 * takes is the method's (`MethodDescriptor.releasedCheckpoint`).
 */
import path from "node:path";
import { Option } from "commander";
import type { ClipActivation } from "../clip/config.js";
import { ClipModel } from "../clip/model.js";
import { InvalidArgumentError, MissingFileError } from "../errors.js";
import { statOrUndefined } from "../fs-stat.js";
import { CHECKPOINT_CONFIG, loadCheckpoint, type LoadedCheckpoint } from "../models/common/checkpoint.js";
import type { ReleasedCheckpointFormat } from "../models/common/released-checkpoint.js";
import { methodDescriptor } from "../models/registry.js";
import { SIMCLIP_DEFAULTS } from "../models/simclip/config.js";

export interface BackboneCliOptions {
  /** The method the checkpoint is for (default simclip): it names the authors' format. */
  method?: string;
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
  /** "ours", "released" (the method's authors' format, e.g. SimCLIP's clip.pth + visionAdapter.pth) or none. */
  checkpointKind?: "ours" | "released";
}

async function checkpointKind(location: string, released: ReleasedCheckpointFormat | undefined): Promise<"ours" | "released"> {
  if (await statOrUndefined(path.join(location, CHECKPOINT_CONFIG))) return "ours";
  if (released && (await released.holds(location))) return "released";
  throw new MissingFileError(
    location,
    `not a checkpoint: expected ${CHECKPOINT_CONFIG} (a "simclip train --out" directory)${released ? ` or ${released.description}` : ""}`,
  );
}

/**
 * The activation: `--activation`, else the checkpoint's (ours record it; one written before that was
 * trained with the weights' own), else the released rule at the run size (default 518).
 */
export async function openBackboneAndCheckpoint(o: BackboneCliOptions): Promise<OpenedBackbone> {
  const load = (activation: ClipActivation | undefined, size: number | undefined) =>
    ClipModel.load(o.model, { threads: o.threads, ...(activation ? { activation } : {}), ...(size !== undefined ? { size } : {}) });
  const descriptor = methodDescriptor(o.method ?? "simclip");
  if (!o.checkpoint) return { model: await load(o.activation ?? descriptor.activation, o.size ?? SIMCLIP_DEFAULTS.size) };
  const released = await descriptor.releasedCheckpoint?.();
  const kind = await checkpointKind(o.checkpoint, released);
  if (kind === "ours") {
    const checkpoint = await loadCheckpoint(o.checkpoint);
    if (o.activation && checkpoint.activation && o.activation !== checkpoint.activation) {
      throw new InvalidArgumentError(
        `--activation ${o.activation}: the checkpoint ${o.checkpoint} was trained with ${checkpoint.activation}; omit --activation`,
      );
    }
    const activation = o.activation ?? checkpoint.activation;
    // Without a recorded activation, no size: the weights' own activation, as such checkpoints were trained.
    return { model: await load(activation, undefined), checkpoint, checkpointKind: kind };
  }
  const files = await released!.read(o.checkpoint);
  if (o.size !== undefined && files.size !== undefined && o.size !== files.size) {
    throw new InvalidArgumentError(
      `--size ${o.size}: the released checkpoint in ${o.checkpoint} was trained at ${files.size} (its positional embedding's grid); omit --size`,
    );
  }
  // A released file that fixes no size runs at --size, else at the authors' 518.
  const size = files.size ?? o.size ?? SIMCLIP_DEFAULTS.size;
  const model = await load(o.activation ?? descriptor.activation, size);
  try {
    return { model, checkpoint: files.checkpoint(model, size, o.layers), checkpointKind: kind };
  } catch (err) {
    await model.dispose();
    throw err;
  }
}
