import { checkTrainedGeometry, contextGeometry, type MethodDescriptor } from "../common/method.js";

export const aprilGanMethod: MethodDescriptor = {
  name: "april-gan",
  label: "APRIL-GAN",
  auxiliaryTrained: true,
  table1Roles: ["zero-shot", "few-shot"],
  create: async (ctx) => {
    const { AprilGan } = await import("./model.js");
    if (!ctx.checkpoint) return AprilGan.create(ctx.backbone, contextGeometry(ctx), ctx.seed);
    return checkTrainedGeometry(await AprilGan.fromState(ctx.backbone, ctx.checkpoint.state, ctx.checkpoint.dir), ctx);
  },
  releasedCheckpoint: async () => (await import("./released-checkpoint.js")).releasedAprilGanFormat,
};
