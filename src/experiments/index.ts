/**
 * One function per paper artefact (Tables 1-6, Figures 2/4/5), the default end-to-end demo, and what
 * they run on: the configuration, the opened backbone and datasets, the paper's quoted tables.
 */
export * from "./config.js";
export * from "./resources.js";
export * from "./paper-tables.js";
export * from "./inspect.js";
export * from "./setup.js";
export * from "./context.js";
export * from "./table.js";
export * from "./methods.js";
export * from "./table1.js";
export * from "./heatmaps.js";
export * from "./demo.js";
export * from "./table2.js";
export * from "./ablations.js";
export * from "./figure5.js";
export * from "./figure-jobs.js";
