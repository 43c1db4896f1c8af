/**
 * Every figure `simclip figures` writes, by name. A job opens what the notebook configuration names
 * (src/notebook/config.ts: real model and datasets, or the demo backbone and synthetic benchmark)
 * and writes its files; the notebooks show the same figures interactively.
 */
import type { Sample } from "../data/sample.js";
import type { NotebookConfig } from "../notebook/config.js";
import { layerDistanceRows } from "../notebook/inspect-layers.js";
import { FIGURE5_CLASSES, FIGURE5_TEMPLATES, figure5Prompts } from "../experiments/figure5.js";
import { openBackbone, openDataset } from "../notebook/resources.js";
import { scatterChartSpec } from "./charts.js";
import { tsne2d } from "./tsne.js";
import { writeChartFiles, writeHeatmapGridFile } from "./write.js";

export interface FigureJob {
  description: string;
  /** Writes the figure's files into `outDir`; returns their paths. */
  run(config: NotebookConfig, outDir: string): Promise<string[]>;
}

/** Four blocks spread over the depth, as the paper's L = {6, 12, 18, 24} are over ViT-L's 24. */
export function spreadLayers(depth: number): number[] {
  const n = Math.min(4, depth);
  return Array.from({ length: n }, (_, i) => Math.round(((i + 1) * depth) / n));
}

export const FIGURE_JOBS: Record<string, FigureJob> = {
  "layer-distances": {
    description: "per-layer patch-token distance from the mean patch token on anomalous test images (quick-start notebook)",
    async run(config, outDir) {
      const model = await openBackbone(config);
      try {
        const data = await openDataset(config, "mvtec");
        const samples = data.categories
          .map((c) => data.samples.find((s) => s.category === c && s.split === "test" && s.label === 1))
          .filter((s): s is Sample => s !== undefined)
          .slice(0, 3);
        const layers = spreadLayers(model.config.vision.layers);
        const rows = await layerDistanceRows(model, samples, layers, model.config.vision.imageSize);
        return writeHeatmapGridFile(outDir, "layer-distances", rows, { mapLabels: layers.map((l) => `layer ${l}`) });
      } finally {
        await model.dispose();
      }
    },
  },
  "figure5a-prompt-tsne": {
    description: "Figure 5(a): t-SNE of the original (un-refined) normal / anomalous prompt features",
    async run(config, outDir) {
      const model = await openBackbone(config);
      try {
        // Quick mode: 4 classes and one template (48 prompts) instead of 27 x 3 (972).
        const prompts = config.quick ? figure5Prompts(FIGURE5_CLASSES.slice(0, 4), FIGURE5_TEMPLATES.slice(0, 1)) : figure5Prompts(FIGURE5_CLASSES, FIGURE5_TEMPLATES);
        const text = await model.encodeText(prompts.map((p) => p.text));
        const xy = tsne2d(text.textEmbeds, prompts.length, model.config.embedDim, { seed: 0 });
        const points = prompts.map((p, i) => ({ x: xy[i][0], y: xy[i][1], group: p.group, kind: p.kind }));
        return writeChartFiles(outDir, "figure5a-prompt-tsne", scatterChartSpec(points, { title: "Original prompt features (t-SNE)", width: 640, height: 480 }));
      } finally {
        await model.dispose();
      }
    },
  },
};
