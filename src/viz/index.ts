/** Static figure writers (PNG via sharp, SVG via vega-lite) used by `simclip figures` and notebooks. */
export * from "./charts.js";
export * from "./colormap.js";
export * from "./curves.js";
export * from "./heatmap-grid.js";
export * from "./image.js";
export * from "./npy.js";
export * from "./tsne.js";
export * from "./write.js";
