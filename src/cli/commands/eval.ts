/**
 * `simclip eval`: any registered method on a dataset's test split, metrics per class then their mean
 * (as all peers report), written as {"method","dataset","shots","per_category":{...},"mean":{...}};
 * with `--shots k --seeds N` the k-shot draw is repeated for seeds 0..N-1 and each value is {mean, std}.
 * Method options (`--option key=value`, SimCLIP+'s `--no-fd`, `--no-pao`, `--pao-weighting`) are
 * checked against the method's schema and written to the results as "options" (defaults included).
 */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { isRandomDemoModel } from "../../clip/demo-model.js";
import { loadMask } from "../../clip/preprocess.js";
import { loadDataset } from "../../data/load.js";
import { formatMetricTable, type EvaluationTable, type MetricName } from "../../metrics/index.js";
import { createMethod, methodNames, methodOptionSchema } from "../../models/registry.js";
import { evaluateMethod, type EvaluationResults } from "../../models/common/evaluate.js";
import { defaultFeatureCacheDir, openMethodFeatures } from "../../models/common/setup.js";
import { addMethodOptionFlags, methodOptionsFromCommand, parseLayerList, parseNameList, parseNonNegativeInt, parsePositiveInt } from "../options.js";
import { resolvedMethodOptions, validateMethodOptions } from "../../models/common/method-options.js";
import type { ClipActivation } from "../../clip/config.js";
import { activationOption, openBackboneAndCheckpoint } from "../open-checkpoint.js";

interface EvalCliOptions {
  method: string;
  model: string;
  checkpoint?: string;
  dataset: string;
  out: string;
  shots: number;
  seeds: number;
  size?: number;
  layers?: number[];
  categories?: string[];
  batch: number;
  cache: string;
  threads?: number;
  activation?: ClipActivation;
}

/** The results' means as a metrics table, for the terminal. */
function meanTable(r: EvaluationResults): string {
  const value = (v: number | { mean: number }) => (typeof v === "number" ? v : v.mean);
  const metrics = Object.keys(r.mean) as MetricName[];
  const table: EvaluationTable = {
    metrics,
    categories: Object.keys(r.per_category),
    perCategory: Object.fromEntries(
      Object.entries(r.per_category).map(([c, row]) => [c, Object.fromEntries(metrics.map((m) => [m, value(row[m]!)]))]),
    ) as EvaluationTable["perCategory"],
    mean: Object.fromEntries(metrics.map((m) => [m, value(r.mean[m]!)])) as EvaluationTable["mean"],
    notes: [],
  };
  return formatMetricTable(table);
}

export function register(program: Command): void {
  const cmd = program
    .command("eval")
    .description("Evaluate a method on a dataset's test split: I-AUROC, I-AP, P-AUROC, PRO per class and their mean.")
    .option("--method <name>", `method (${methodNames().join(", ")})`, "simclip")
    .requiredOption("--model <dir>", "CLIP model directory (the one the checkpoint was trained on)")
    .option(
      "--checkpoint <dir>",
      "trained checkpoint: a simclip train --out directory, or the method's authors' released one (SimCLIP: a directory with clip.pth + visionAdapter.pth; APRIL-GAN: its .pth file, run at --size, default 518); without it the method runs untrained",
    )
    .requiredOption("--dataset <spec>", "mvtec:ROOT | visa:ROOT | custom:ROOT")
    .requiredOption("--out <file>", "results JSON")
    .option("--shots <k>", "k normal reference images per class (0 = zero-shot)", parseNonNegativeInt("shots"), 0)
    .option("--seeds <n>", "number of k-shot draws (seeds 0..n-1); values become {mean, std}", parsePositiveInt("seeds"), 1)
    .option("--size <px>", "input and map size (default: the checkpoint's, else 518)", parsePositiveInt("size"))
    .option(
      "--layers <list>",
      "1-based hooked blocks (default: the checkpoint's; with a SimCLIP checkpoint, any of its layers; else 6,12,18,24)",
      parseLayerList,
    )
    .option("--categories <list>", "only these classes (comma-separated)", parseNameList)
    .option("--batch <n>", "images per scoring call", parsePositiveInt("batch"), 8)
    .option("--cache <dir>", "feature cache root", defaultFeatureCacheDir())
    .option("--threads <n>", "onnxruntime intra-op threads (default: all cores)", parsePositiveInt("threads"))
    .addOption(activationOption("the checkpoint's, else the released rule at --size"));
  addMethodOptionFlags(cmd).action(async (o: EvalCliOptions, command: Command) => {
    // Checked before the model loads, so a typo fails at once.
    const schema = await methodOptionSchema(o.method);
    const options = validateMethodOptions(o.method, schema, methodOptionsFromCommand(command));
    const { model, checkpoint } = await openBackboneAndCheckpoint(o);
    try {
      const random = await isRandomDemoModel(model.dir);
      if (random) process.stderr.write(`simclip: note: ${o.model} is a random demo backbone; these numbers say nothing about real CLIP\n`);
      const method = await createMethod(o.method, { backbone: model, checkpoint, size: o.size, layers: o.layers, options });
      const own = method.featureSource?.();
      if (own?.random) process.stderr.write(`simclip: note: ${o.method} runs on ${own.description}; these numbers say nothing about the pretrained method\n`);
      const dataset = await loadDataset(o.dataset, o.categories ? { categories: o.categories } : {});
      const features = await openMethodFeatures(model, method, o.cache);
      const results = await evaluateMethod(method, dataset, {
        features,
        loadMask,
        shots: o.shots,
        seeds: Array.from({ length: o.seeds }, (_, i) => i),
        batchSize: o.batch,
      });
      // The method options in force (defaults included), so a results file says which Table 6 variant it is.
      const out = {
        ...results,
        options: resolvedMethodOptions(o.method, schema, options),
        backbone: { model: model.dir, fingerprint: model.fingerprint, activation: model.config.activation, random_demo: random },
        checkpoint: o.checkpoint ?? null,
        // A method with a backbone of its own (PatchCore on WideResNet-50-2) says which, and whether it is random.
        ...(own ? { method_backbone: { description: own.description ?? own.id, features: own.id, random: own.random === true } } : {}),
      };
      await writeFile(o.out, `${JSON.stringify(out, null, 2)}\n`);
      process.stdout.write(`${meanTable(results)}\n${results.notes ? `${results.notes.join("\n")}\n` : ""}results written to ${o.out}\n`);
      method.dispose?.();
    } finally {
      await model.dispose();
    }
  });
}
