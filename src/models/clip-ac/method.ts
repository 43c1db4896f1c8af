import { contextGeometry, rejectCheckpoint, type MethodDescriptor } from "../common/method.js";

export const clipAcMethod: MethodDescriptor = {
  name: "clip-ac",
  label: "CLIP-AC",
  table1Roles: ["zero-shot"],
  create: async (ctx) => {
    rejectCheckpoint("CLIP-AC", ctx);
    return (await import("./model.js")).ClipAc.create(ctx.backbone, contextGeometry(ctx));
  },
};
