/**
 * `simclip predict`: anomaly map PNG, overlay PNG and score JSON for each image, with a trained method;
 * few-shot methods (simclip+, april-gan, patchcore) take their k normal images from --references or
 * --reference-dir.
 */
import type { Command } from "commander";
import { InvalidArgumentError } from "../../errors.js";
import type { ClipActivation } from "../../clip/config.js";
import { createMethod, methodNames, methodOptionSchema } from "../../models/registry.js";
import { predictImages } from "../../models/common/predict.js";
import { predictionNames, writePrediction } from "../../viz/prediction.js";
import { listReferenceImages } from "../reference-images.js";
import { addMethodOptionFlags, methodOptionsFromCommand, parseLayerList, parsePositiveInt, parsePositiveNumber } from "../options.js";
import { validateMethodOptions } from "../../models/common/method-options.js";
import { activationOption, openBackboneAndCheckpoint } from "../open-checkpoint.js";

interface PredictCliOptions {
  method: string;
  model: string;
  checkpoint?: string;
  out: string;
  category: string;
  references?: string[];
  referenceDir?: string;
  size?: number;
  layers?: number[];
  mapMax?: number;
  threads?: number;
  activation?: ClipActivation;
}

export function register(program: Command): void {
  const cmd = program
    .command("predict")
    .description(
      "Anomaly map (<name>_map.png, raw values in <name>_map.npy), overlay (<name>_overlay.png) and score (<name>.json) for each image. " +
        "Few-shot: --references (or --reference-dir) gives k normal images of the class; the queries are then scored as one class " +
        "(SimCLIP+'s image score min-max normalises the map maxima over the images of the call).",
    )
    .option("--method <name>", `method (${methodNames().join(", ")})`, "simclip")
    .requiredOption("--model <dir>", "CLIP model directory (the one the checkpoint was trained on)")
    .option(
      "--checkpoint <dir>",
      "trained checkpoint: a simclip train --out directory, or the method's authors' released one (SimCLIP: a directory with clip.pth + visionAdapter.pth; APRIL-GAN: its .pth file, run at --size, default 518)",
    )
    .requiredOption("--out <dir>", "output directory")
    .option("--category <name>", 'object name used in the prompts ("a photo of a [cls] with defect.")', "object")
    .option("--references <images...>", "few-shot: normal reference images of the class (put them after the query images, or end the list with --)")
    .option("--reference-dir <dir>", "few-shot: every image file in this directory is a normal reference")
    .option("--size <px>", "input and map size (default: the checkpoint's, else 518)", parsePositiveInt("size"))
    .option(
      "--layers <list>",
      "1-based hooked blocks (default: the checkpoint's; with a SimCLIP checkpoint, any of its layers; else 6,12,18,24)",
      parseLayerList,
    )
    .option("--map-max <x>", "map value drawn as full scale (default: the number of hooked layers, SimCLIP's maximum)", parsePositiveNumber("map-max"))
    .option("--threads <n>", "onnxruntime intra-op threads (default: all cores)", parsePositiveInt("threads"))
    .addOption(activationOption("the checkpoint's, else the released rule at --size"));
  addMethodOptionFlags(cmd)
    .argument("<images...>", "image files")
    .action(async (images: string[], o: PredictCliOptions, command: Command) => {
      if (o.references && o.referenceDir)
        throw new InvalidArgumentError("give the reference images either with --references or with --reference-dir, not both");
      // Checked before the model loads, so a typo fails at once.
      const options = validateMethodOptions(o.method, await methodOptionSchema(o.method), methodOptionsFromCommand(command));
      const names = predictionNames(images);
      const references = o.referenceDir ? await listReferenceImages(o.referenceDir) : (o.references ?? []);
      const { model, checkpoint } = await openBackboneAndCheckpoint(o);
      try {
        const method = await createMethod(o.method, { backbone: model, checkpoint, size: o.size, layers: o.layers, options });
        const own = method.featureSource?.();
        if (own?.random) process.stderr.write(`simclip: note: ${o.method} runs on ${own.description}; its maps say nothing about the pretrained method\n`);
        try {
          const predictions = await predictImages(method, model, images, o.category, { references });
          for (const [i, p] of predictions.entries()) {
            const files = await writePrediction(p, o.out, o.mapMax ?? method.layers.length, names[i]);
            process.stdout.write(`${p.image}: score ${p.score.toFixed(4)} -> ${files.json}\n`);
          }
        } finally {
          method.dispose?.();
        }
      } finally {
        await model.dispose();
      }
    });
}
