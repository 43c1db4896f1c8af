/**
 * Methods by name, for `simclip eval --method NAME` and notebooks. Each entry loads its module lazily
 * (no import cycles, nothing loaded that is not used); a method's folder adds ONE line here.
 */
import { InvalidArgumentError } from "../../errors.js";
import type { LoadedCheckpoint } from "./checkpoint.js";
import type { AnomalyMethod } from "./types.js";
import type { SimClipBackbone } from "../simclip/model.js";

export interface MethodContext {
  /** The frozen CLIP (a ClipModel): config, weights, fingerprint, text tower. */
  backbone: SimClipBackbone;
  /** A trained checkpoint (`simclip train --out`), when the method uses one. */
  checkpoint?: LoadedCheckpoint;
  /** Input/map size S; default: the checkpoint's, else the method's default. */
  size?: number;
  /** Hooked layers; default: the checkpoint's, else the method's default. */
  layers?: number[];
}

export type MethodFactory = (ctx: MethodContext) => Promise<AnomalyMethod>;

const METHODS: Record<string, () => Promise<MethodFactory>> = {
  simclip: async () => (await import("../simclip/factory.js")).createSimClipMethod,
  "simclip+": async () => (await import("../simclip-plus/factory.js")).createSimClipPlusMethod,
  "clip-ac": async () => (await import("../baselines.js")).createClipAcMethod,
  "april-gan": async () => (await import("../baselines.js")).createAprilGanMethod,
  patchcore: async () => (await import("../baselines.js")).createPatchCoreMethod,
  coop: async () => (await import("../baselines.js")).createPromptLearnerMethod("coop"),
  cocoop: async () => (await import("../baselines.js")).createPromptLearnerMethod("cocoop"),
  anomalyclip: async () => (await import("../baselines.js")).createPromptLearnerMethod("anomalyclip"),
};

export function methodNames(): string[] {
  return Object.keys(METHODS).sort();
}

export async function createMethod(name: string, ctx: MethodContext): Promise<AnomalyMethod> {
  const load = METHODS[name];
  if (!load) throw new InvalidArgumentError(`unknown method "${name}"; known: ${methodNames().join(", ")}`);
  return (await load())(ctx);
}
