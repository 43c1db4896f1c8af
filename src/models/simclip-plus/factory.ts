/** Building SimCLIP+ for the method registry and notebooks: a SimCLIP (trained checkpoint or untrained) wrapped with the few-shot parts. */
import type { MethodContext } from "../common/method.js";
import { validateMethodOptions, type MethodOptionSchema } from "../common/method-options.js";
import { createSimClipMethod } from "../simclip/factory.js";
import { SIMCLIP_PLUS_DEFAULTS, resolveSimClipPlusConfig, type SimClipPlusConfig } from "./config.js";
import { SimClipPlus } from "./model.js";

/**
 * SimCLIP+'s switches as registry options (`--option key=value`, `--no-fd`, `--no-pao`,
 * `--pao-weighting`): the keys are SimClipPlusConfig's, the defaults the released code's (config.ts).
 */
export const SIMCLIP_PLUS_OPTIONS: MethodOptionSchema = {
  fd: { type: "boolean", default: SIMCLIP_PLUS_DEFAULTS.fd, description: "feature-driven map M_v, Eq. 7 (Table 6 FD)" },
  pao: { type: "boolean", default: SIMCLIP_PLUS_DEFAULTS.pao, description: "prior-aware optimisation, Algorithm 1 (Table 6 PAO)" },
  weighting: {
    type: "enum",
    values: ["per-layer", "last-layer"],
    default: SIMCLIP_PLUS_DEFAULTS.weighting,
    description: "Algorithm 1's D_l: per-layer (paper) or last-layer (released code)",
  },
  imageScoreMap: {
    type: "enum",
    values: ["few-shot", "zero-shot+fd"],
    default: SIMCLIP_PLUS_DEFAULTS.imageScoreMap,
    description: "map whose maximum enters the image score: few-shot (paper) or zero-shot+fd (released code)",
  },
};

/** `config` (typed, from code) overrides `ctx.options` (from the registry or the CLI). */
export async function createSimClipPlusMethod(ctx: MethodContext, config: Partial<SimClipPlusConfig> = {}): Promise<SimClipPlus> {
  const fromCtx = validateMethodOptions("simclip+", SIMCLIP_PLUS_OPTIONS, ctx.options) as Partial<SimClipPlusConfig>;
  // Checked before the SimCLIP is built: a bad combination (fd and pao both off) fails without loading weights.
  const resolved = resolveSimClipPlusConfig({ ...fromCtx, ...config });
  const simclip = await createSimClipMethod(ctx);
  try {
    return new SimClipPlus(simclip, resolved);
  } catch (err) {
    simclip.dispose();
    throw err;
  }
}
