export { AprilGan, APRIL_GAN_METHOD, type AprilGanConfig } from "./model.js";
export { aprilGanPrompts, APRIL_GAN_NORMAL_STATES, APRIL_GAN_ANOMALOUS_STATES, APRIL_GAN_TEMPLATES } from "./prompts.js";
export { aprilGanObjective, aprilGanLossAndGradients } from "./objective.js";
