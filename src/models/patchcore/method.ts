import { contextGeometry, rejectCheckpoint, type MethodDescriptor } from "../common/method.js";

export const patchCoreMethod: MethodDescriptor = {
  name: "patchcore",
  label: "PatchCore",
  table1Roles: ["few-shot"],
  ownLayers: true,
  options: async () => (await import("./wide-resnet-method.js")).PATCHCORE_OPTIONS,
  create: async (ctx) => {
    rejectCheckpoint("PatchCore", ctx);
    // backbone=clip: PatchCore on the CLIP features; default: anomalib's, on its own WideResNet-50-2.
    if (ctx.options?.backbone === "clip") {
      const ratio = ctx.options.coresetRatio;
      const { PatchCore } = await import("./model.js");
      return new PatchCore(ctx.backbone, { ...contextGeometry(ctx), ...(typeof ratio === "number" ? { coresetRatio: ratio } : {}) });
    }
    return (await import("./wide-resnet-method.js")).createPatchCoreWideResNet(ctx);
  },
};
