/** Notebook helpers for tslab: configuration, tables beside the paper's numbers, plotly figures, progress. */
export * from "./config.js";
export * from "./figures.js";
export * from "./paper-tables.js";
export * from "./plotly.js";
export * from "./progress.js";
export * from "./setup.js";
export * from "./tables.js";
export * from "./tslab.js";
export * from "./inspect-layers.js";
export * from "./resources.js";
