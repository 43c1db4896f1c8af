/** Anomaly-detection methods on cached CLIP features, and the pieces they share. */
export * from "./components/index.js";
export * from "./common/index.js";
export * from "./simclip/index.js";
export * from "./simclip-plus/index.js";
export * from "./run.js";
export * from "./registry.js";
export { METHODS } from "./methods.js";
export * from "./clip-ac/index.js";
export * from "./april-gan/index.js";
export * from "./patchcore/index.js";
export * from "./coop/index.js";
export * from "./cocoop/index.js";
export * from "./anomalyclip/index.js";
export * from "./complexity.js";
