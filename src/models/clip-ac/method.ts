import type { ClipAcPrompts } from "./prompts.js";
import type { ClipAcPipeline } from "./model.js";
import { contextGeometry, rejectCheckpoint, type MethodDescriptor } from "../common/method.js";

export const clipAcMethod: MethodDescriptor = {
  name: "clip-ac",
  label: "CLIP-AC",
  table1Roles: ["zero-shot"],
  options: async () => ({
    prompts: {
      type: "enum",
      values: ["imagenet", "simclip"],
      default: "imagenet",
      description: "the ImageNet prompt-template ensemble x normal / anomalous [cls] (AnomalyCLIP's CLIP-AC) or SimCLIP's two sentences",
    },
    pipeline: {
      type: "enum",
      values: ["anomalyclip", "april-gan"],
      default: "anomalyclip",
      description: "scoring: AnomalyCLIP's test pipeline (cos / 0.07, softmax on the grid, sigma 4) or APRIL-GAN's (100 x cos, logits upsampled, no smoothing)",
    },
  }),
  create: async (ctx) => {
    rejectCheckpoint("CLIP-AC", ctx);
    const { ClipAc, clipAcPipeline } = await import("./model.js");
    const prompts = ctx.options?.prompts as ClipAcPrompts | undefined;
    const pipeline = ctx.options?.pipeline as ClipAcPipeline | undefined;
    return ClipAc.create(ctx.backbone, { ...contextGeometry(ctx), ...(prompts ? { prompts } : {}), ...(pipeline ? clipAcPipeline(pipeline) : {}) });
  },
};
