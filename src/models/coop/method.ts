import { InvalidArgumentError } from "../../errors.js";
import { checkTrainedGeometry, contextGeometry, type MethodFactory, type MethodDescriptor } from "../common/method.js";
import type { PromptLearnerVariant } from "./config.js";

/** CoOp, CoCoOp (in the SimCLIP framework) and AnomalyCLIP: trained prompts from a checkpoint, or untrained. */
export function createPromptLearnerMethod(variant: PromptLearnerVariant): MethodFactory {
  return async (ctx) => {
    const { PromptLearnerClip } = await import("./model.js");
    if (!ctx.checkpoint) return PromptLearnerClip.create(ctx.backbone, variant, contextGeometry(ctx), ctx.seed);
    if (ctx.checkpoint.state.method !== variant) {
      throw new InvalidArgumentError(
        `${ctx.checkpoint.dir} holds a "${ctx.checkpoint.state.method}" checkpoint, not a ${variant} one: pass --method ${ctx.checkpoint.state.method}`,
      );
    }
    return checkTrainedGeometry(await PromptLearnerClip.fromState(ctx.backbone, ctx.checkpoint.state, ctx.checkpoint.dir), ctx);
  };
}

export const coopMethod: MethodDescriptor = { name: "coop", label: "CoOp", auxiliaryTrained: true, create: createPromptLearnerMethod("coop") };
