import { InvalidArgumentError } from "../../errors.js";
import { checkTrainedGeometry, contextGeometry, type MethodContext, type MethodDescriptor } from "../common/method.js";
import type { MethodOptionSchema, MethodOptions } from "../common/method-options.js";
import type { ClipConfig } from "../../clip/config.js";
import type { AnomalyMethod } from "../common/types.js";
import { quarterLayers } from "../components/geometry.js";
import type { PromptLearnerConfig } from "../coop/config.js";
import { RELEASED_ANOMALYCLIP_ORIGIN } from "./released-checkpoint.js";

/** The released scripts' settings, under their argparse names where they have one. */
export const ANOMALYCLIP_OPTIONS: MethodOptionSchema = {
  dpamLayer: {
    type: "number",
    integer: true,
    min: 2,
    default: 20,
    description: "DAPM_replace(DPAM_layer = N): the last N - 1 vision blocks run the v-v attention path (released: 20 of ViT-L/14's 24 blocks)",
  },
  nCtx: { type: "number", integer: true, min: 1, default: 12, description: "learnable context tokens per state (--n_ctx)" },
  depth: {
    type: "number",
    integer: true,
    min: 1,
    default: 9,
    description: "--depth: depth - 1 deep text prompts, replacing positions 1..tNCtx before text blocks 2..depth (1: none)",
  },
  tNCtx: { type: "number", integer: true, min: 1, default: 4, description: "length of each deep text prompt (--t_n_ctx)" },
  hookedLayers: {
    type: "enum",
    values: ["top", "quarters"],
    default: "top",
    description:
      "hooked blocks when --layers is not given: the top block (train.sh / test.sh since 2025-04) or the ends of the four quarters (6 12 18 24, the argparse default)",
  },
};

type Settings = Partial<PromptLearnerConfig>;

/** The prompt shapes the options ask for (they come from the checkpoint when there is one). */
function promptSettings(ctx: MethodContext): Settings {
  const o = ctx.options ?? {};
  const nCtx = (o.nCtx as number | undefined) ?? 12;
  const depth = (o.depth as number | undefined) ?? releasedDefault(ctx, "depth", 9, ctx.backbone.config.text.layers, "text layers");
  const tNCtx = (o.tNCtx as number | undefined) ?? 4;
  return depth === 1
    ? { contextLength: nCtx, deepTextPrompts: undefined, deepPromptsHalf: false }
    : { contextLength: nCtx, deepTextPrompts: { depth: depth - 1, length: tNCtx }, deepPromptsHalf: true };
}

/**
 * A released default that only fits ViT-L/14; on a shallower backbone, an error naming the option and
 * its value carried over to this depth (the released code fails there with an IndexError).
 */
function releasedDefault(ctx: MethodContext, key: "dpamLayer" | "depth", released: number, max: number, what: string): number {
  if (released <= max) return released;
  const scaled = scaledAnomalyClipOptions(ctx.backbone.config)[key];
  throw new InvalidArgumentError(
    `anomalyclip: the released ${key} ${released} needs more depth than this backbone has (at most ${max} = ${what}); pass --option ${key}=N (the released proportion here: ${key}=${scaled})`,
  );
}

/** What the run decides whatever the prompts: DPAM, size and hooked layers. */
function runSettings(ctx: MethodContext): Settings {
  const o = ctx.options ?? {};
  const dpamLayer = (o.dpamLayer as number | undefined) ?? releasedDefault(ctx, "dpamLayer", 20, ctx.backbone.config.vision.layers + 1, "vision blocks + 1");
  const s: Settings = { ...contextGeometry(ctx), dpamLayer };
  if (ctx.layers === undefined && o.hookedLayers === "quarters") s.layers = quarterLayers(ctx.backbone.config);
  return s;
}

/**
 * The released settings carried over to `config`'s depth: DPAM on the last 19 of 24 vision blocks and
 * 8 deep prompts in a 12-layer text tower, scaled (round(20 L / 24), round(9 T / 12)); exactly the
 * released values on ViT-L/14.
 */
export function scaledAnomalyClipOptions(config: ClipConfig): MethodOptions {
  const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
  return {
    dpamLayer: clamp(Math.round((20 * config.vision.layers) / 24), 2, config.vision.layers + 1),
    depth: clamp(Math.round((9 * config.text.layers) / 12), 1, config.text.layers),
  };
}

async function createAnomalyClip(ctx: MethodContext): Promise<AnomalyMethod> {
  const { PromptLearnerClip } = await import("../coop/model.js");
  if (!ctx.checkpoint) return PromptLearnerClip.create(ctx.backbone, "anomalyclip", { ...promptSettings(ctx), ...runSettings(ctx) }, ctx.seed);
  const { state, dir } = ctx.checkpoint;
  if (state.method !== "anomalyclip") {
    throw new InvalidArgumentError(`${dir} holds a "${state.method}" checkpoint, not an anomalyclip one: pass --method ${state.method}`);
  }
  const fromCheckpoint = ["nCtx", "depth", "tNCtx"].filter((k) => ctx.options?.[k] !== undefined);
  if (fromCheckpoint.length > 0)
    throw new InvalidArgumentError(`--option ${fromCheckpoint.join(", ")}: the prompt shapes come from the checkpoint ${dir}; drop the option`);
  if (state.config.origin !== RELEASED_ANOMALYCLIP_ORIGIN) {
    if (ctx.options?.dpamLayer !== undefined || ctx.options?.hookedLayers !== undefined) {
      throw new InvalidArgumentError(`--option dpamLayer / hookedLayers: ${dir} was trained with its own (in its config); drop the option`);
    }
    return checkTrainedGeometry(await PromptLearnerClip.fromState(ctx.backbone, state, dir), ctx);
  }
  // The authors' checkpoint holds only the prompts: DPAM, size and layers are this run's.
  const saved = state.config as { promptLearner: Settings };
  const config = { ...state.config, promptLearner: { ...saved.promptLearner, ...runSettings(ctx) } };
  return PromptLearnerClip.fromState(ctx.backbone, { ...state, config }, dir);
}

export const anomalyClipMethod: MethodDescriptor = {
  name: "anomalyclip",
  label: "AnomalyCLIP",
  auxiliaryTrained: true,
  table1Roles: ["zero-shot"],
  ownLayers: true,
  activation: "quick-gelu",
  scaledOptions: scaledAnomalyClipOptions,
  options: async () => ANOMALYCLIP_OPTIONS,
  create: createAnomalyClip,
  releasedCheckpoint: async () => (await import("./released-checkpoint.js")).releasedAnomalyClipFormat,
};
