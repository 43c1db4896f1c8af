/**
 * simclip's public API. Notebooks and users import from "simclip"; everything re-exported here is
 * typed and documented. Each concern exports its own barrel (`src/<concern>/index.ts`).
 */
export * from "./errors.js";
export { tf, tfReady } from "./tf.js";
export * from "./progress.js";
export * from "./data/index.js";
export * from "./models/index.js";
export * from "./clip/index.js";
export * from "./metrics/index.js";
export * from "./cache/index.js";
export * from "./notebook/index.js";
export * from "./viz/index.js";
export * from "./experiments/index.js";
