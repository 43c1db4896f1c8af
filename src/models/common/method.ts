/**
 * What a method's folder declares to the registry (`models/methods.ts`): its name, its label in the
 * paper's tables, its factory, the schema of its options, and its role in the experiments. A method
 * is added in one place: its folder's `method.ts`, listed once in `models/methods.ts`.
 */
import { InvalidArgumentError } from "../../errors.js";
import type { SimClipBackbone } from "./backbone.js";
import { CheckpointMismatchError, type LoadedCheckpoint } from "./checkpoint.js";
import type { ClipActivation, ClipConfig } from "../../clip/config.js";
import type { MethodOptionSchema, MethodOptionValue, MethodOptions } from "./method-options.js";
import type { ReleasedCheckpointFormat } from "./released-checkpoint.js";
import type { AnomalyMethod } from "./types.js";

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
  /** Initialisation seed of an untrained method with parameters (default: the method's, 111). */
  seed?: number;
  /**
   * Config overrides from code for an untrained method (the ablations' SimCLIP variants); only a
   * method whose descriptor says `configOverrides` takes them.
   */
  overrides?: Readonly<Record<string, unknown>>;
}

export type MethodFactory = (ctx: MethodContext) => Promise<AnomalyMethod>;

/** Where a method appears in Table 1: zero-shot rows, few-shot rows, or both. */
export type Table1Role = "zero-shot" | "few-shot";

export interface MethodDescriptor {
  /** The registry name (`--method NAME`). */
  readonly name: string;
  /** Its label in the paper's tables. */
  readonly label: string;
  /** Builds it (from `ctx.checkpoint` when given); loads the method's modules lazily. */
  readonly create: MethodFactory;
  /** The options the method accepts; none declared = it takes none. */
  readonly options?: () => Promise<MethodOptionSchema>;
  /** Zero-shot: it learns on the other dataset's test split (the auxiliary dataset). */
  readonly auxiliaryTrained?: boolean;
  /** Its rows of Table 1. */
  readonly table1Roles?: readonly Table1Role[];
  /**
   * The layers the experiments hook for every CLIP method are no default of it: it keeps its own
   * (PatchCore: its own backbone's; AnomalyCLIP: the top block, as its published protocol) unless
   * layers are asked for explicitly.
   */
  readonly ownLayers?: boolean;
  /**
   * Options that carry released settings tied to the released backbone's depth over to another
   * backbone (AnomalyCLIP's DPAM and deep-prompt depths, set for ViT-L/14), for the experiments,
   * which run every method on whatever backbone they are given. Equal to the defaults on the
   * released backbone.
   */
  readonly scaledOptions?: (config: ClipConfig) => MethodOptions;
  /**
   * The MLP activation its authors' CLIP runs at every input size (AnomalyCLIP: QuickGELU, as OpenAI
   * trained it); absent: the released SimCLIP rule (exact GELU away from the native size).
   */
  readonly activation?: ClipActivation;
  /** It takes `MethodContext.overrides` (its config's fields). */
  readonly configOverrides?: boolean;
  /** The format of its authors' released checkpoints, which `--checkpoint` takes besides ours. */
  readonly releasedCheckpoint?: () => Promise<ReleasedCheckpointFormat>;
}

/** For methods that learn nothing. */
export function rejectCheckpoint(method: string, ctx: MethodContext): void {
  if (ctx.checkpoint) throw new InvalidArgumentError(`${method} learns nothing, so it takes no checkpoint: drop --checkpoint`);
}

/** The size and layers the context asks for, without undefined keys. */
export function contextGeometry(ctx: MethodContext): { size?: number; layers?: number[] } {
  const g: { size?: number; layers?: number[] } = {};
  if (ctx.size !== undefined) g.size = ctx.size;
  if (ctx.layers !== undefined) g.layers = ctx.layers;
  return g;
}

/** A trained head runs on the grid and layers it was trained for (as SimCLIP's factory insists). */
export function checkTrainedGeometry(m: AnomalyMethod, ctx: MethodContext): AnomalyMethod {
  if (ctx.size !== undefined && ctx.size !== m.size) {
    m.dispose?.();
    throw new CheckpointMismatchError(ctx.checkpoint!.dir, `it was trained at size ${m.size}, not ${ctx.size}: omit --size or retrain at ${ctx.size}`);
  }
  if (ctx.layers !== undefined && ctx.layers.join(",") !== m.layers.join(",")) {
    m.dispose?.();
    throw new CheckpointMismatchError(ctx.checkpoint!.dir, `it was trained on layers ${m.layers.join(",")}, not ${ctx.layers.join(",")}`);
  }
  return m;
}
