/**
 * `simclip convert-checkpoint`: the authors' released SimCLIP checkpoint (clip.pth + visionAdapter.pth)
 * as one of ours (weights.safetensors + config.json), checked against the backbone it will run on.
 * `eval` and `predict` read the released files directly; a converted checkpoint loads without PyTorch's
 * format and records the activation and backbone fingerprint it runs with.
 */
import type { Command } from "commander";
import type { ClipActivation } from "../../clip/config.js";
import { InvalidArgumentError } from "../../errors.js";
import { saveCheckpoint } from "../../models/common/checkpoint.js";
import { parseLayerList, parsePositiveInt } from "../options.js";
import { SimClip } from "../../models/simclip/model.js";
import { activationOption, openBackboneAndCheckpoint } from "../open-checkpoint.js";

interface ConvertCliOptions {
  from: string;
  model: string;
  out: string;
  layers?: number[];
  activation?: ClipActivation;
  threads?: number;
}

export function register(program: Command): void {
  program
    .command("convert-checkpoint")
    .description("Convert the authors' released SimCLIP checkpoint (a directory with clip.pth and visionAdapter.pth) into a simclip checkpoint directory.")
    .requiredOption("--from <dir>", "directory holding the authors' clip.pth and visionAdapter.pth")
    .requiredOption("--model <dir>", "the CLIP it was trained on (e.g. ViT-L/14-336); its frozen tensors must equal those inside clip.pth")
    .requiredOption("--out <dir>", "output checkpoint directory (weights.safetensors + config.json)")
    .option("--layers <list>", "1-based hooked blocks, one per adapter in order (default: four spread over the depth: 6,12,18,24 for ViT-L/14)", parseLayerList)
    .option("--threads <n>", "onnxruntime intra-op threads (default: all cores)", parsePositiveInt("threads"))
    .addOption(activationOption("the released rule at the checkpoint's size"))
    .action(async (o: ConvertCliOptions) => {
      const { model, checkpoint, checkpointKind } = await openBackboneAndCheckpoint({ ...o, checkpoint: o.from });
      try {
        if (checkpointKind !== "released") {
          throw new InvalidArgumentError(`${o.from} is already a simclip checkpoint; convert-checkpoint reads the authors' clip.pth + visionAdapter.pth`);
        }
        // Built once to check every tensor against the model it will run in, before anything is written.
        const method = await SimClip.fromState(model, checkpoint!.state, o.from);
        await saveCheckpoint(o.out, method.state(), model);
        method.dispose();
        process.stdout.write(
          `converted ${o.from} (size ${method.size}, layers ${method.layers.join(",")}, activation ${model.config.activation}) -> ${o.out}\n`,
        );
      } finally {
        await model.dispose();
      }
    });
}
