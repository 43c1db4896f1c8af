/**
 * CLIP: weights, tokenizer and preprocessing (clip-io's modules) and the architecture, its
 * executors (onnxruntime, tfjs, and the reverse-mode recorder) and the `ClipModel` facade
 * (clip-model's modules).
 */
export * from "./config.js";
export * from "./safetensors.js";
export * from "./torch-checkpoint.js";
export * from "./weights.js";
export * from "./weight-names.js";
export * from "./tokenizer.js";
export * from "./preprocess.js";
export * from "./resample.js";
export type { ClipOps } from "./ops.js";
export {
  visionTower,
  textTower,
  textTokenEmbeds,
  type VisionTowerOptions,
  type VisionTowerResult,
  type TextTowerResult,
  type TextTowerOptions,
  type DeepTextPrompts,
} from "./architecture.js";
export { interpolatePosEmbed, resizeBicubicAA } from "./pos-embed.js";
export { OnnxGraphBuilder } from "./onnx/graph-builder.js";
export { buildVisionGraph, buildTextGraph, buildTextVjpGraphs, type VisionGraphSpec, type TextVjpSpec } from "./onnx/clip-graphs.js";
export { Tape, TapeNode, type Dim } from "./autodiff/tape.js";
export { buildVjpGraphs, type VjpGraphs, type VjpOutput } from "./autodiff/vjp-graphs.js";
export {
  OrtTextTower,
  ortTextTower,
  releaseOrtTextTowers,
  textForwardOrt,
  type TextTowerInputs,
  type TextTowerGradients,
  type TextTowerTrace,
  type TextTowerTraceTf,
} from "./text-vjp.js";
export {
  createOrtSession,
  checkExecutionProvider,
  ExecutionProviderUnavailableError,
  type ExecutionProviderName,
  type OrtSessionOptions,
} from "./ort-executor.js";
export { TfClipOps } from "./tfjs-ops.js";
export { textForwardTf, textTokenEmbedsTf, visionForwardTf, disposeTfClip, eotIndices } from "./tfjs-forward.js";
export * from "./model.js";
