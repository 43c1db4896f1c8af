/**
 * `simclip train-baseline`: train a baseline (APRIL-GAN, CoOp, CoCoOp, AnomalyCLIP) the way
 * `simclip train` trains SimCLIP: on the test split of an auxiliary dataset, a checkpoint after every
 * epoch; evaluate it with `simclip eval --method NAME --checkpoint DIR`.
 * `simclip complexity`: paper Table 2 (parameters and FLOPs of CoOp, CoCoOp and IPT) for a backbone.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { type Command, Option } from "commander";
import { ClipModel } from "../../clip/model.js";
import { isRandomDemoModel } from "../../clip/demo-model.js";
import { runRegisteredMethod } from "../../models/run.js";
import { promptLearningComplexity } from "../../models/complexity.js";
import { defaultFeatureCacheDir } from "../../models/common/setup.js";
import { parseLayerList, parsePositiveInt, parsePositiveNumber, parseProbability } from "../options.js";

const TRAINABLE = ["april-gan", "coop", "cocoop", "anomalyclip"];

interface TrainBaselineOptions {
  method: string;
  model: string;
  train: string;
  test?: string;
  out: string;
  size: number;
  layers?: number[];
  epochs?: number;
  batch?: number;
  lr?: number;
  mosaic?: number;
  cache: string;
  threads?: number;
}

export function register(program: Command): void {
  program
    .command("train-baseline")
    .description("Train a baseline's learnable parts on the test split of an auxiliary dataset; writes a checkpoint for `simclip eval --checkpoint`.")
    .addOption(new Option("--method <name>", "baseline").choices(TRAINABLE).makeOptionMandatory())
    .requiredOption("--model <dir>", "CLIP model directory or Hugging Face id")
    .requiredOption("--train <spec>", "training data: mvtec:ROOT | visa:ROOT | custom:ROOT (its test split, with masks)")
    .requiredOption("--out <dir>", "checkpoint directory (written after every epoch)")
    .option("--test <spec>", "also evaluate on this dataset afterwards; results in <out>/results.json")
    .option("--size <px>", "input and map size", parsePositiveInt("size"), 518)
    .option("--layers <list>", "1-based hooked blocks (default: the method's)", parseLayerList)
    .option(
      "--epochs <n>",
      "epochs (default: the method's released recipe for the training set, e.g. APRIL-GAN 3 on MVTec, 15 on VisA)",
      parsePositiveInt("epochs"),
    )
    .option("--batch <n>", "batch size (default: the method's: APRIL-GAN and AnomalyCLIP 8, CoOp/CoCoOp 16)", parsePositiveInt("batch"))
    .option("--lr <x>", "Adam learning rate (default: the method's, 1e-3 for all)", parsePositiveNumber("lr"))
    .option(
      "--mosaic <rate>",
      "2 x 2 mosaic rate (default: the method's recipe for the training set, e.g. APRIL-GAN 0.2 on MVTec); mosaics are written under CACHE/mosaics",
      parseProbability("mosaic"),
    )
    .option("--cache <dir>", "feature cache root", defaultFeatureCacheDir())
    .option("--threads <n>", "onnxruntime intra-op threads", parsePositiveInt("threads"))
    .action(async (o: TrainBaselineOptions) => {
      const model = await ClipModel.load(o.model, { threads: o.threads });
      try {
        if (await isRandomDemoModel(model.dir))
          process.stderr.write(`simclip: note: ${o.model} is a random demo backbone; numbers say nothing about real CLIP\n`);
        const options = {
          checkpointDir: o.out,
          ...(o.epochs ? { epochs: o.epochs } : {}),
          ...(o.batch ? { batchSize: o.batch } : {}),
          ...(o.lr ? { lr: o.lr } : {}),
          ...(o.mosaic !== undefined ? { mosaicRate: o.mosaic } : {}),
        };
        const { results, method, history } = await runRegisteredMethod(o.method, {
          model,
          ...(o.test ? { dataset: o.test } : {}),
          train: { dataset: o.train, options },
          size: o.size,
          cacheDir: o.cache,
          ...(o.layers ? { layers: o.layers } : {}),
        });
        await writeFile(path.join(o.out, "history.json"), `${JSON.stringify({ method: o.method, train: o.train, ...history }, null, 2)}\n`);
        if (results) await writeFile(path.join(o.out, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
        process.stdout.write(`trained ${o.method}: epoch losses ${history!.epochLoss.map((l) => l.toFixed(4)).join(", ")}; checkpoint in ${o.out}\n`);
        method.dispose?.();
      } finally {
        await model.dispose();
      }
    });

  program
    .command("complexity")
    .description(
      "Paper Table 2: parameters (M) and FLOPs (G multiply-accumulates) of CoOp, CoCoOp and IPT in the SimCLIP framework, counted for this backbone.",
    )
    .requiredOption("--model <dir>", "CLIP model directory or Hugging Face id (paper: ViT-L/14-336)")
    .option("--size <px>", "input size (paper: 518)", parsePositiveInt("size"), 518)
    .option("--layers <list>", "hooked blocks", parseLayerList, [6, 12, 18, 24])
    .option("--json <file>", "also write the rows as JSON")
    .action(async (o: { model: string; size: number; layers: number[]; json?: string }) => {
      const model = await ClipModel.load(o.model);
      try {
        const rows = await promptLearningComplexity(model, { size: o.size, layers: o.layers });
        const lines = ["method   FLOPs(G)  FLOPs/train step(G)  Params(M)"];
        for (const r of rows)
          lines.push(
            `${r.method.padEnd(8)} ${r.gmacs.toFixed(2).padStart(8)}  ${r.gmacsTrainStep.toFixed(2).padStart(19)}  ${(r.params / 1e6).toFixed(2).padStart(9)}`,
          );
        process.stdout.write(`${lines.join("\n")}\n`);
        if (o.json) await writeFile(o.json, `${JSON.stringify(rows, null, 2)}\n`);
      } finally {
        await model.dispose();
      }
    });
}
