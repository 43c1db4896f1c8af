/**
 * The paper's figures that need trained models (Figures 2, 4 and 5(b)), as jobs of the same shape as
 * src/viz/figure-jobs.ts (which writes Figure 5(a), the untrained prompt features), so `simclip
 * figures` writes them all. Every job trains through the experiment checkpoint cache, so the
 * figures reuse the tables' SimCLIP run. Titles carry the setup label: synthetic setups say so.
 */
import type { NotebookConfig } from "../notebook/config.js";
import { scatterChartSpec } from "../viz/charts.js";
import type { FigureJob } from "../viz/figure-jobs.js";
import { writeChartFiles, writeHeatmapGridFile } from "../viz/write.js";
import { figure5 } from "./figure5.js";
import { heatmapFigure } from "./heatmaps.js";
import { experimentSetupFrom } from "./setup.js";

export const EXPERIMENT_FIGURE_JOBS: Record<string, FigureJob> = {
  "figure2-maps": {
    description: "Figure 2: SimCLIP zero-shot anomaly maps (image / ground truth / map), one anomalous test image per class of each dataset",
    async run(config: NotebookConfig, outDir: string) {
      const d = await heatmapFigure(experimentSetupFrom(config), { methods: ["simclip"] });
      return writeHeatmapGridFile(outDir, "figure2-maps", d.rows, { mapLabels: d.mapLabels });
    },
  },
  "figure4-maps": {
    description: "Figure 4: SimCLIP (0-shot) beside SimCLIP+ (1-shot) anomaly maps",
    async run(config: NotebookConfig, outDir: string) {
      const d = await heatmapFigure(experimentSetupFrom(config), { methods: ["simclip", "simclip+"] });
      return writeHeatmapGridFile(outDir, "figure4-maps", d.rows, { mapLabels: d.mapLabels });
    },
  },
  "figure5b-prompt-tsne": {
    description: "Figure 5(b): t-SNE of the IPT-refined normal / anomalous prompt features (trained SimCLIP)",
    async run(config: NotebookConfig, outDir: string) {
      const d = await figure5(experimentSetupFrom(config), { tsneOf: "refined" });
      const points = d.prompts.map((p, i) => ({ x: d.refinedXY![i]![0], y: d.refinedXY![i]![1], group: p.group, kind: p.kind }));
      return writeChartFiles(outDir, "figure5b-prompt-tsne", scatterChartSpec(points, { title: "IPT-refined prompt features (t-SNE)", width: 640, height: 480 }));
    },
  },
};
