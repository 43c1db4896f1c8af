/**
 * Factories of the baselines for the method registry (`common/registry.ts`), so that
 * `simclip eval --method NAME` and `createMethod(NAME, ctx)` build them the way SimCLIP is built:
 * from a checkpoint when given (trained baselines), untrained otherwise.
 * RegAD and AnomalyGPT are not implemented: tables quote the paper's numbers for them
 * (src/notebook/paper-tables.ts).
 */
import { InvalidArgumentError } from "../errors.js";
import type { MethodContext } from "./common/registry.js";
import type { AnomalyMethod } from "./common/types.js";
import { ClipAc } from "./clip-ac/model.js";
import { AprilGan } from "./april-gan/model.js";

function noCheckpoint(method: string, ctx: MethodContext): void {
  if (ctx.checkpoint) throw new InvalidArgumentError(`${method} learns nothing, so it takes no checkpoint: drop --checkpoint`);
}

function geometry(ctx: MethodContext): { size?: number; layers?: number[] } {
  const g: { size?: number; layers?: number[] } = {};
  if (ctx.size !== undefined) g.size = ctx.size;
  if (ctx.layers !== undefined) g.layers = ctx.layers;
  return g;
}

export async function createClipAcMethod(ctx: MethodContext): Promise<AnomalyMethod> {
  noCheckpoint("CLIP-AC", ctx);
  return ClipAc.create(ctx.backbone, geometry(ctx));
}

export async function createAprilGanMethod(ctx: MethodContext): Promise<AnomalyMethod> {
  return ctx.checkpoint ? AprilGan.fromState(ctx.backbone, ctx.checkpoint.state, ctx.checkpoint.dir) : AprilGan.create(ctx.backbone, geometry(ctx));
}
