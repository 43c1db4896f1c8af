#!/usr/bin/env node
/**
 * The `simclip` command line. Each sub-command lives in `src/cli/commands/<name>.ts` and exports
 * `register(program)`; this file only wires them together.
 */
import { Command } from "commander";
import { SimclipError } from "../errors.js";
import { register as registerSynth } from "./commands/synth.js";
import { register as registerEncode } from "./commands/encode.js";
import { register as registerDemoModel } from "./commands/demo-model.js";
import { register as registerFigures } from "./commands/figures.js";
import { register as registerTrain } from "./commands/train.js";
import { register as registerEval } from "./commands/eval.js";
import { register as registerPredict } from "./commands/predict.js";
import { register as registerTrainBaseline } from "./commands/train-baseline.js";
import { register as registerDemo } from "./commands/demo.js";
import { register as registerConvertCheckpoint } from "./commands/convert-checkpoint.js";
import { register as registerServe } from "./commands/serve.js";

const program = new Command("simclip").description("SimCLIP / SimCLIP+ zero- and few-shot industrial anomaly detection").showHelpAfterError();

// Sub-commands (one import and one register call per command file).
registerSynth(program);
registerEncode(program);
registerDemoModel(program);
registerFigures(program);
registerTrain(program);
registerEval(program);
registerPredict(program);
registerTrainBaseline(program);
registerDemo(program);
registerConvertCheckpoint(program);
registerServe(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof SimclipError) {
    process.stderr.write(`simclip: ${err.name}: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
});
