/** tslab display for notebooks: tables beside the paper's numbers, plotly figures, progress bars. */
export * from "./figures.js";
export * from "./plotly.js";
export * from "./progress.js";
export * from "./setup.js";
export * from "./tables.js";
export * from "./tslab.js";
