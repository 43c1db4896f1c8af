/** Building SimCLIP for the CLI and the method registry: from a checkpoint, or untrained (the baseline to beat). */
import { InvalidArgumentError } from "../../errors.js";
import { CheckpointMismatchError, loadCheckpoint, saveCheckpoint } from "../common/checkpoint.js";
import type { MethodContext } from "../common/method.js";
import { SimClip } from "./model.js";
import type { SimClipBackbone } from "../common/backbone.js";
import type { SimClipConfig } from "./config.js";

export async function createSimClipMethod(ctx: MethodContext): Promise<SimClip> {
  if (!ctx.checkpoint) {
    // Overrides are SimCLIP config fields (the ablations' variants); resolveSimClipConfig checks them.
    const cfg: Partial<SimClipConfig> = { ...(ctx.overrides as Partial<SimClipConfig> | undefined) };
    if (ctx.size !== undefined) cfg.size = ctx.size;
    if (ctx.layers !== undefined) cfg.layers = ctx.layers;
    return SimClip.create(ctx.backbone, cfg, ctx.seed);
  }
  // A subset of the checkpoint's layers is allowed (their maps alone); others have no trained adapter.
  const m = await SimClip.fromState(ctx.backbone, ctx.checkpoint.state, ctx.checkpoint.dir, ctx.layers);
  if (ctx.size !== undefined && ctx.size !== m.size) {
    // The heads would run on another grid than they were trained for; the authors train and test at one size.
    m.dispose();
    throw new CheckpointMismatchError(ctx.checkpoint.dir, `it was trained at size ${m.size}, not ${ctx.size}: omit --size or retrain at ${ctx.size}`);
  }
  return m;
}

/** Notebook convenience: a trained SimCLIP from a checkpoint directory. */
export async function loadSimClip(backbone: SimClipBackbone, dir: string): Promise<SimClip> {
  const ckpt = await loadCheckpoint(dir);
  if (ckpt.state.method !== "simclip") throw new InvalidArgumentError(`${dir} holds a "${ckpt.state.method}" checkpoint, not a SimCLIP one`);
  return SimClip.fromState(backbone, ckpt.state, dir);
}

/** Notebook convenience: save a SimCLIP's trained state (safetensors + config JSON). */
export async function saveSimClip(m: SimClip, dir: string): Promise<void> {
  await saveCheckpoint(dir, m.state(), m.backbone);
}
