/**
 * The paper's figures that need trained models (Figures 2, 4 and 5), as jobs of the same shape as
 * src/viz/figure-jobs.ts so `simclip figures` writes them beside the notebook team's ones. Titles
 * carry the setup label: synthetic-setup figures say so.
 */
import type { NotebookConfig } from "../notebook/config.js";
import { scatterChartSpec } from "../viz/charts.js";
import type { FigureJob } from "../viz/figure-jobs.js";
import { writeChartFiles, writeHeatmapGridFile } from "../viz/write.js";
import { figure5 } from "./figure5.js";
import { heatmapFigure } from "./heatmaps.js";
import { experimentSetupFrom } from "./setup.js";

export const EXPERIMENT_FIGURE_JOBS: Record<string, FigureJob> = {
  figure2: {
    description: "Figure 2: SimCLIP zero-shot anomaly maps (image / ground truth / map), one anomalous test image per class",
    async run(config: NotebookConfig, outDir: string) {
      const d = await heatmapFigure(experimentSetupFrom(config), { methods: ["simclip"] });
      return writeHeatmapGridFile(outDir, "figure2-simclip-maps", d.rows, { mapLabels: d.mapLabels });
    },
  },
  figure4: {
    description: "Figure 4: SimCLIP (0-shot) beside SimCLIP+ (1-shot) anomaly maps",
    async run(config: NotebookConfig, outDir: string) {
      const d = await heatmapFigure(experimentSetupFrom(config), { methods: ["simclip", "simclip+"] });
      return writeHeatmapGridFile(outDir, "figure4-simclip-plus-maps", d.rows, { mapLabels: d.mapLabels });
    },
  },
  figure5: {
    description: "Figure 5: t-SNE of original vs IPT-refined prompt features",
    async run(config: NotebookConfig, outDir: string) {
      const d = await figure5(experimentSetupFrom(config));
      const points = (xy: [number, number][]) => d.prompts.map((p, i) => ({ x: xy[i]![0], y: xy[i]![1], group: p.group, kind: p.kind }));
      return [
        ...(await writeChartFiles(outDir, "figure5a-original-prompts", scatterChartSpec(points(d.originalXY!), { title: `(a) original prompt features — ${d.setup}` }))),
        ...(await writeChartFiles(outDir, "figure5b-ipt-refined-prompts", scatterChartSpec(points(d.refinedXY!), { title: `(b) IPT-refined prompt features — ${d.setup}` }))),
      ];
    },
  },
};
