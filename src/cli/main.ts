#!/usr/bin/env node
/**
 * The `simclip` command line. Each sub-command lives in `src/cli/commands/<name>.ts` and exports
 * `register(program)`; this file only wires them together.
 */
import { Command } from "commander";
import { SimclipError } from "../errors.js";

const program = new Command("simclip")
  .description("SimCLIP / SimCLIP+ zero- and few-shot industrial anomaly detection")
  .showHelpAfterError();

// Sub-commands (one import and one register call per command file).

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof SimclipError) {
    process.stderr.write(`simclip: ${err.name}: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
});
