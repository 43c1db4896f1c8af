/**
 * `simclip train`: SimCLIP's zero-shot training (paper Sec. 3.2) on the *test* split of an auxiliary
 * dataset (all classes, masks used), as the authors do (train on MVTec, test on VisA and back).
 * Writes a checkpoint (weights.safetensors + config.json) after every epoch and history.json at the end.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { type Command, Option } from "commander";
import type { ClipActivation } from "../../clip/config.js";
import { ClipModel } from "../../clip/model.js";
import { isRandomDemoModel } from "../../clip/demo-model.js";
import { loadMask } from "../../clip/preprocess.js";
import { loadDataset } from "../../data/load.js";
import { SimClip } from "../../models/simclip/model.js";
import type { SimClipConfig } from "../../models/simclip/config.js";
import { samplesTrainSource } from "../../models/common/train-data.js";
import { simclipTrainingProtocol } from "../../models/common/train-options.js";
import type { PromptClassNames } from "../../models/common/prompts.js";
import { activationOption } from "../open-checkpoint.js";
import { defaultFeatureCacheDir, openMethodFeatures } from "../../models/common/setup.js";
import { parseLayerList, parseNameList, parseNonNegativeInt, parsePositiveInt, parsePositiveNumber, parseProbability } from "../options.js";

interface TrainCliOptions {
  model: string;
  train: string;
  out: string;
  size: number;
  epochs: number;
  batch: number;
  seed: number;
  layers: number[];
  lr: number;
  cache: string;
  categories?: string[];
  mhva: boolean;
  ipt: boolean;
  iptEotResidual: boolean;
  iptClamp: boolean;
  imagePrompts: "plain" | "refined";
  classNames: PromptClassNames;
  threads?: number;
  mosaic?: number;
  activation?: ClipActivation;
}

/** The released train.py's recipe; `--mosaic`'s default depends on the training set's layout. */
const RELEASED = simclipTrainingProtocol("mvtec");

export function register(program: Command): void {
  program
    .command("train")
    .description("Train SimCLIP's heads (MHVA, IPT, projections) on the test split of an auxiliary dataset (e.g. MVTec to evaluate on VisA).")
    .requiredOption("--model <dir>", "CLIP model directory (Hugging Face or OpenAI layout), e.g. ViT-L/14-336, or a demo model")
    .requiredOption("--train <spec>", "training data: mvtec:ROOT | visa:ROOT | custom:ROOT (its test split, with masks)")
    .requiredOption("--out <dir>", "checkpoint directory (written after every epoch)")
    .option("--size <px>", "input and map size (authors: 518 for ViT-L/14-336)", parsePositiveInt("size"), 518)
    .option("--epochs <n>", "epochs (paper: 5; the authors' released checkpoints: 20)", parsePositiveInt("epochs"), RELEASED.epochs)
    .option("--batch <n>", "batch size (authors: 16)", parsePositiveInt("batch"), RELEASED.batchSize)
    .option("--seed <n>", "seed of initialisation and shuffling (authors: 111)", parseNonNegativeInt("seed"), RELEASED.seed)
    .option("--layers <list>", "1-based hooked vision blocks", parseLayerList, [6, 12, 18, 24])
    .option("--lr <x>", "Adam learning rate (betas 0.5, 0.999; cosine over int(1.2 x epochs))", parsePositiveNumber("lr"), RELEASED.lr)
    .option("--categories <list>", "only these classes of the training data (comma-separated)", parseNameList)
    .option("--no-mhva", "ablation: no adapters, patch tokens through CLIP's fixed ln_post + visual projection")
    .option("--no-ipt", "ablation: plain prompt embeddings instead of IPT's refined ones")
    .option("--no-ipt-eot-residual", "IPT as the paper's Eq. 5 writes it: FFN([T^T W, P]) without the authors' added EOT feature")
    .option("--ipt-clamp", "IPT as the paper words it: keep the token weighting and mixing weights in [0, 1] (the released code never clamps)", false)
    .addOption(
      new Option("--class-names <style>", "class names in the prompts: the folder names as they are (released code: metal_nut) or with spaces")
        .choices(["raw", "spaces"])
        .default("raw"),
    )
    .addOption(
      new Option("--image-prompts <which>", "prompts of the image score: the authors' plain ones or the paper's refined ones")
        .choices(["plain", "refined"])
        .default("plain"),
    )
    .option(
      "--mosaic <rate>",
      "2 x 2 mosaic augmentation: probability an item becomes a mosaic of its class (default: the released 0.2 on an MVTec-layout set, else 0); mosaics are written under CACHE/mosaics",
      parseProbability("mosaic"),
    )
    .option("--cache <dir>", "feature cache root", defaultFeatureCacheDir())
    .option("--threads <n>", "onnxruntime intra-op threads (default: all cores)", parsePositiveInt("threads"))
    .addOption(activationOption("the released rule: exact GELU unless --size is the model's native size"))
    .action(async (o: TrainCliOptions) => {
      const model = await ClipModel.load(o.model, { threads: o.threads, size: o.size, ...(o.activation ? { activation: o.activation } : {}) });
      try {
        if (await isRandomDemoModel(model.dir)) {
          process.stderr.write(`simclip: note: ${o.model} is a random demo backbone; trained numbers say nothing about real CLIP\n`);
        }
        const dataset = await loadDataset(o.train, o.categories ? { categories: o.categories } : {});
        const config: Partial<SimClipConfig> = {
          size: o.size,
          layers: o.layers,
          mhva: o.mhva,
          ipt: o.ipt,
          iptEotResidual: o.iptEotResidual,
          iptClamp: o.iptClamp,
          imagePrompts: o.imagePrompts,
          classNames: o.classNames,
        };
        const method = await SimClip.create(model, config, o.seed);
        const features = await openMethodFeatures(model, method, o.cache);
        const samples = dataset.samples.filter((s) => s.split === "test");
        const mosaic = o.mosaic ?? method.trainingProtocol(dataset.name).mosaicRate;
        const source = await samplesTrainSource(samples, {
          features,
          loadMask,
          size: method.size,
          mosaic: { rate: mosaic, dir: path.join(o.cache, "mosaics") },
        });
        const history = await method.fit(source, { epochs: o.epochs, batchSize: o.batch, seed: o.seed, lr: o.lr, checkpointDir: o.out });
        await writeFile(
          path.join(o.out, "history.json"),
          `${JSON.stringify({ train: `${dataset.name}:${dataset.root}`, images: samples.length, mosaic, activation: model.config.activation, ...history }, null, 2)}\n`,
        );
        process.stdout.write(
          `trained SimCLIP on ${samples.length} images of ${dataset.categories.length} classes (${dataset.name}): ` +
            `epoch losses ${history.epochLoss.map((l) => l.toFixed(4)).join(", ")}; ${history.imagesPerSecond.toFixed(2)} images/s; checkpoint in ${o.out}\n`,
        );
        method.dispose();
      } finally {
        await model.dispose();
      }
    });
}
