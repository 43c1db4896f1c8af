/**
 * `simclip figures` (also `npm run figures`): writes every figure as PNG (and SVG for charts) to
 * figures/ without a notebook, on the configuration the notebooks use (SIMCLIP_MODEL, MVTEC_ROOT,
 * VISA_ROOT, SIMCLIP_QUICK or simclip.config.json; otherwise demo backbone + synthetic benchmark).
 */
import type { Command } from "commander";
import { InvalidArgumentError } from "../../errors.js";
import { describeExperimentConfig, isRealSetup, loadExperimentConfig } from "../../experiments/config.js";
import { FIGURE_JOBS } from "../../experiments/figure-jobs.js";

export function register(program: Command): void {
  program
    .command("figures")
    .description("Write every figure (PNG, and SVG for charts) to a folder, on the notebooks' configuration")
    .option("--out <dir>", "output folder", "figures")
    .option("--only <names...>", `figures to write (default all: ${Object.keys(FIGURE_JOBS).join(", ")})`)
    .action(async (opts: { out: string; only?: string[] }) => {
      const names = opts.only ?? Object.keys(FIGURE_JOBS);
      const jobs = names.map((n) => {
        const job = FIGURE_JOBS[n];
        if (job === undefined) throw new InvalidArgumentError(`--only: unknown figure "${n}"; known: ${Object.keys(FIGURE_JOBS).join(", ")}`);
        return [n, job] as const;
      });
      const config = loadExperimentConfig();
      process.stderr.write(`${describeExperimentConfig(config).replace(/\*\*|`/g, "")}\n`);
      for (const [n, job] of jobs) {
        const files = await job.run(config, opts.out);
        process.stdout.write(`${n}: ${files.join(", ")}${isRealSetup(config) ? "" : " (synthetic setup)"}\n`);
      }
    });
}
