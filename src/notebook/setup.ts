/** The first cell of every notebook: read the configuration, route progress here, say what runs. */
import { describeExperimentConfig, loadExperimentConfig, type ExperimentConfig } from "../experiments/config.js";
import { installNotebookProgress } from "./progress.js";
import { showMarkdown } from "./tslab.js";

export function setupNotebook(title: string): ExperimentConfig {
  const config = loadExperimentConfig();
  installNotebookProgress();
  showMarkdown(`### ${title}\n\n${describeExperimentConfig(config)}`);
  return config;
}
