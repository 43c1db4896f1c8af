import type { MethodDescriptor } from "../common/method.js";

export const simClipPlusMethod: MethodDescriptor = {
  name: "simclip+",
  label: "SimCLIP+",
  table1Roles: ["few-shot"],
  options: async () => (await import("./factory.js")).SIMCLIP_PLUS_OPTIONS,
  create: async (ctx) => (await import("./factory.js")).createSimClipPlusMethod(ctx),
  releasedCheckpoint: async () => (await import("../simclip/released-checkpoint.js")).releasedSimClipFormat,
};
