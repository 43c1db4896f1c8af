/** Anomaly-detection methods on cached CLIP features, and the pieces they share. */
export * from "./components/index.js";
export * from "./common/index.js";
export * from "./simclip/index.js";
export * from "./simclip-plus/index.js";
export * from "./baselines.js";
