/** `simclip predict`: anomaly map PNG, overlay PNG and score JSON for each image, with a trained method. */
import { Command } from "commander";
import { ClipModel } from "../../clip/model.js";
import { loadCheckpoint } from "../../models/common/checkpoint.js";
import { createMethod, methodNames } from "../../models/common/registry.js";
import { predictImages, writePrediction } from "../../models/common/predict.js";
import { parsePositiveInt, parsePositiveNumber } from "../../models/common/options.js";

interface PredictCliOptions {
  method: string;
  model: string;
  checkpoint?: string;
  out: string;
  category: string;
  mapMax?: number;
  threads?: number;
}

export function register(program: Command): void {
  program
    .command("predict")
    .description("Anomaly map (<name>_map.png), overlay (<name>_overlay.png) and score (<name>.json) for each image.")
    .option("--method <name>", `method (${methodNames().join(", ")})`, "simclip")
    .requiredOption("--model <dir>", "CLIP model directory (the one the checkpoint was trained on)")
    .option("--checkpoint <dir>", "trained checkpoint (simclip train --out)")
    .requiredOption("--out <dir>", "output directory")
    .option("--category <name>", "object name used in the prompts (\"a photo of a [cls] with defect.\")", "object")
    .option("--map-max <x>", "map value drawn as full scale (default: the number of hooked layers, SimCLIP's maximum)", parsePositiveNumber("map-max"))
    .option("--threads <n>", "onnxruntime intra-op threads (default: all cores)", parsePositiveInt("threads"))
    .argument("<images...>", "image files")
    .action(async (images: string[], o: PredictCliOptions) => {
      const model = await ClipModel.load(o.model, { threads: o.threads });
      try {
        const checkpoint = o.checkpoint ? await loadCheckpoint(o.checkpoint) : undefined;
        const method = await createMethod(o.method, { backbone: model, checkpoint });
        const predictions = await predictImages(method, model, images, o.category);
        for (const p of predictions) {
          const files = await writePrediction(p, o.out, o.mapMax ?? method.layers.length);
          process.stdout.write(`${p.image}: score ${p.score.toFixed(4)} -> ${files.json}\n`);
        }
        method.dispose?.();
      } finally {
        await model.dispose();
      }
    });
}
