/** The first cell of every notebook: read the configuration, route progress here, say what runs. */
import { describeNotebookConfig, loadNotebookConfig, type NotebookConfig } from "./config.js";
import { installNotebookProgress } from "./progress.js";
import { showMarkdown } from "./tslab.js";

export function setupNotebook(title: string): NotebookConfig {
  const config = loadNotebookConfig();
  installNotebookProgress();
  showMarkdown(`### ${title}\n\n${describeNotebookConfig(config)}`);
  return config;
}
