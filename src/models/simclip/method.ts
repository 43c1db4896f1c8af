import type { MethodDescriptor } from "../common/method.js";

export const simClipMethod: MethodDescriptor = {
  name: "simclip",
  label: "SimCLIP",
  auxiliaryTrained: true,
  configOverrides: true,
  table1Roles: ["zero-shot"],
  create: async (ctx) => (await import("./factory.js")).createSimClipMethod(ctx),
  releasedCheckpoint: async () => (await import("./released-checkpoint.js")).releasedSimClipFormat,
};
