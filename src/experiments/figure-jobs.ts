/**
 * Every figure `simclip figures` writes, by name. A job opens what the configuration names
 * (config.ts: a real model and datasets, or the demo backbone and the synthetic benchmark) and
 * writes its files; the notebooks show the same figures interactively. The jobs that need a trained
 * SimCLIP train it through the experiment checkpoint cache, so the figures reuse the tables' run.
 */
import { quarterLayers } from "../models/components/geometry.js";
import { scatterChartSpec } from "../viz/charts.js";
import { tsne2d } from "../viz/tsne.js";
import { writeChartFiles, writeHeatmapGridFile } from "../viz/write.js";
import type { ExperimentConfig } from "./config.js";
import { FIGURE5_CLASSES, FIGURE5_TEMPLATES, figure5, figure5Prompts } from "./figure5.js";
import { anomalousTestSamples, heatmapFigure } from "./heatmaps.js";
import { layerDistanceRows } from "./inspect.js";
import { openBackbone, openDataset } from "./resources.js";
import { experimentSetupFrom } from "./setup.js";

export interface FigureJob {
  description: string;
  /** Writes the figure's files into `outDir`; returns their paths. */
  run(config: ExperimentConfig, outDir: string): Promise<string[]>;
}

export const FIGURE_JOBS: Record<string, FigureJob> = {
  "layer-distances": {
    description: "per-layer patch-token distance from the mean patch token on anomalous test images (quick-start notebook)",
    async run(config, outDir) {
      const model = await openBackbone(config);
      try {
        const samples = anomalousTestSamples(await openDataset(config, "mvtec")).slice(0, 3);
        const layers = quarterLayers(model.config);
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
        const prompts = config.quick
          ? figure5Prompts(FIGURE5_CLASSES.slice(0, 4), FIGURE5_TEMPLATES.slice(0, 1))
          : figure5Prompts(FIGURE5_CLASSES, FIGURE5_TEMPLATES);
        const text = await model.encodeText(prompts.map((p) => p.text));
        const xy = tsne2d(text.textEmbeds, prompts.length, model.config.embedDim, { seed: 0 });
        const points = prompts.map((p, i) => {
          // tsne2d returns one point per prompt.
          const [x, y] = xy[i]!;
          return { x, y, group: p.group, kind: p.kind };
        });
        return writeChartFiles(
          outDir,
          "figure5a-prompt-tsne",
          scatterChartSpec(points, { title: "Original prompt features (t-SNE)", width: 640, height: 480 }),
        );
      } finally {
        await model.dispose();
      }
    },
  },
  "figure2-maps": {
    description: "Figure 2: SimCLIP zero-shot anomaly maps (image / ground truth / map), one anomalous test image per class of each dataset",
    async run(config, outDir) {
      const d = await heatmapFigure(experimentSetupFrom(config), { methods: ["simclip"] });
      return writeHeatmapGridFile(outDir, "figure2-maps", d.rows, { mapLabels: d.mapLabels });
    },
  },
  "figure4-maps": {
    description: "Figure 4: SimCLIP (0-shot) beside SimCLIP+ (1-shot) anomaly maps",
    async run(config, outDir) {
      const d = await heatmapFigure(experimentSetupFrom(config), { methods: ["simclip", "simclip+"] });
      return writeHeatmapGridFile(outDir, "figure4-maps", d.rows, { mapLabels: d.mapLabels });
    },
  },
  "figure5b-prompt-tsne": {
    description: "Figure 5(b): t-SNE of the IPT-refined normal / anomalous prompt features (trained SimCLIP)",
    async run(config, outDir) {
      const d = await figure5(experimentSetupFrom(config), { tsneOf: "refined" });
      const points = d.prompts.map((p, i) => ({ x: d.refinedXY![i]![0], y: d.refinedXY![i]![1], group: p.group, kind: p.kind }));
      return writeChartFiles(
        outDir,
        "figure5b-prompt-tsne",
        scatterChartSpec(points, { title: "IPT-refined prompt features (t-SNE)", width: 640, height: 480 }),
      );
    },
  },
};
