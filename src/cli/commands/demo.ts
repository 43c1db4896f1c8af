/**
 * `simclip demo` (also `npm start`): the default end-to-end job on the synthetic benchmark and the
 * random demo backbone (src/experiments/demo.ts); prints the table, writes figures, resumes from its
 * caches when run again.
 */
import type { Command } from "commander";
import { cacheRoot } from "../../cache/location.js";
import { runDemo } from "../../experiments/demo.js";

export function register(program: Command): void {
  program
    .command("demo")
    .description("End-to-end demo on synthetic data with a random demo backbone: train SimCLIP, evaluate zero-/few-shot, print the table, write figures")
    // The experiments' and notebooks' cache, so the tables reuse the demo's SimCLIP run.
    .option("--data <dir>", "cache of backbone, synthetic data, features and checkpoints", cacheRoot("project"))
    .option("--out <dir>", "figures folder", "figures")
    .option("--quick", "tiny configuration (CI): tiny backbone, 64 px, two classes per set")
    .action(async (o: { data: string; out: string; quick?: boolean }) => {
      const r = await runDemo({ dataDir: o.data, outDir: o.out, quick: o.quick === true || ["1", "true"].includes(process.env.SIMCLIP_QUICK ?? "") });
      process.stdout.write(`\n${r.text}\n\nfigures: ${r.figures.join(", ")}\n`);
    });
}
