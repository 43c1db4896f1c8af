export { AprilGan, APRIL_GAN_METHOD, APRIL_GAN_LOGIT_SCALE, aprilGanTrainingProtocol, type AprilGanConfig } from "./model.js";
export { readReleasedAprilGan, releasedAprilGanFile, releasedAprilGanFormat } from "./released-checkpoint.js";
export { aprilGanPrompts, APRIL_GAN_NORMAL_STATES, APRIL_GAN_ANOMALOUS_STATES, APRIL_GAN_TEMPLATES } from "./prompts.js";
export { aprilGanObjective, aprilGanLossAndGradients } from "./objective.js";
