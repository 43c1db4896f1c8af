/** Building SimCLIP+ for the method registry and notebooks: a SimCLIP (trained checkpoint or untrained) wrapped with the few-shot parts. */
import type { MethodContext } from "../common/registry.js";
import { createSimClipMethod } from "../simclip/factory.js";
import type { SimClipPlusConfig } from "./config.js";
import { SimClipPlus } from "./model.js";

export async function createSimClipPlusMethod(ctx: MethodContext, config: Partial<SimClipPlusConfig> = {}): Promise<SimClipPlus> {
  const simclip = await createSimClipMethod(ctx);
  try {
    return new SimClipPlus(simclip, config);
  } catch (err) {
    simclip.dispose();
    throw err;
  }
}
