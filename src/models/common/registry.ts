/**
 * Methods by name, for `simclip eval --method NAME` and notebooks. Each entry loads its module lazily
 * (no import cycles, nothing loaded that is not used); a method's folder adds ONE entry here, with
 * the schema of its options when it takes any (validated by `createMethod`, listed in errors).
 */
import { InvalidArgumentError } from "../../errors.js";
import type { LoadedCheckpoint } from "./checkpoint.js";
import type { AnomalyMethod } from "./types.js";
import { validateMethodOptions, type MethodOptionSchema, type MethodOptionValue } from "./options.js";
import type { SimClipBackbone } from "../common/backbone.js";

// The option types and checks are part of the registry's public API (options.ts itself is CLI parsing).
export { describeMethodOptions, resolvedMethodOptions, validateMethodOptions } from "./options.js";
export type { MethodOptionSchema, MethodOptionSpec, MethodOptionValue, MethodOptions } from "./options.js";

export interface MethodContext {
  /** The frozen CLIP (a ClipModel): config, weights, fingerprint, text tower. */
  backbone: SimClipBackbone;
  /** A trained checkpoint (`simclip train --out`), when the method uses one. */
  checkpoint?: LoadedCheckpoint;
  /** Input/map size S; default: the checkpoint's, else the method's default. */
  size?: number;
  /** Hooked layers; default: the checkpoint's (SimCLIP: a subset of them is allowed), else the method's default. */
  layers?: number[];
  /**
   * Method-specific options, checked against the method's declared schema (`methodOptionSchema`) by
   * `createMethod`: typed values from code (`{ pao: false }`), strings from the CLI (`"false"`).
   */
  options?: Readonly<Record<string, MethodOptionValue>>;
}

export type MethodFactory = (ctx: MethodContext) => Promise<AnomalyMethod>;

interface MethodEntry {
  load: () => Promise<MethodFactory>;
  /** The options the method accepts; none declared = it takes none. */
  options?: () => Promise<MethodOptionSchema>;
}

const METHODS: Record<string, MethodEntry> = {
  simclip: { load: async () => (await import("../simclip/factory.js")).createSimClipMethod },
  "simclip+": {
    load: async () => (await import("../simclip-plus/factory.js")).createSimClipPlusMethod,
    options: async () => (await import("../simclip-plus/factory.js")).SIMCLIP_PLUS_OPTIONS,
  },
  "clip-ac": { load: async () => (await import("../baselines.js")).createClipAcMethod },
  "april-gan": { load: async () => (await import("../baselines.js")).createAprilGanMethod },
  patchcore: {
    load: async () => (await import("../baselines.js")).createPatchCoreMethod,
    options: async () => (await import("../patchcore/wide-resnet-method.js")).PATCHCORE_OPTIONS,
  },
  coop: { load: async () => (await import("../baselines.js")).createPromptLearnerMethod("coop") },
  cocoop: { load: async () => (await import("../baselines.js")).createPromptLearnerMethod("cocoop") },
  anomalyclip: { load: async () => (await import("../baselines.js")).createPromptLearnerMethod("anomalyclip") },
};

export function methodNames(): string[] {
  return Object.keys(METHODS).sort();
}

function entry(name: string): MethodEntry {
  const e = METHODS[name];
  if (!e) throw new InvalidArgumentError(`unknown method "${name}"; known: ${methodNames().join(", ")}`);
  return e;
}

/** The options `name` accepts (key -> type, default, description); {} when it takes none. */
export async function methodOptionSchema(name: string): Promise<MethodOptionSchema> {
  const e = entry(name);
  return e.options ? e.options() : {};
}

export async function createMethod(name: string, ctx: MethodContext): Promise<AnomalyMethod> {
  const e = entry(name);
  // Validated before the factory runs, so a typo fails before any weights are built.
  const options = validateMethodOptions(name, await methodOptionSchema(name), ctx.options);
  return (await e.load())({ ...ctx, options });
}
