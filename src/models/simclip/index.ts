export * from "./config.js";
export * from "./model.js";
export * from "./ipt.js";
export { scoreSimClip } from "./scoring.js";
export { simclipObjective, simclipLossAndGradients } from "./objective.js";
export { createSimClipMethod, loadSimClip, saveSimClip } from "./factory.js";
export { exportSimClipOnnx } from "./export-onnx.js";
