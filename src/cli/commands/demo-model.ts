/**
 * `simclip demo-model`: write a randomly initialised CLIP of a real shape in Hugging Face layout,
 * the no-download default backbone. Its numbers mean nothing semantically; the written config.json
 * says so (`simclip_demo.random`), and so does this command's output.
 */
import { type Command, Option } from "commander";
import { DEMO_ARCHS, writeDemoModel } from "../../clip/demo-model.js";
import { InvalidArgumentError } from "../../errors.js";
import { WIDE_RESNET50_2, writeRandomWideResNet } from "../../models/patchcore/resnet-weights.js";

const integer = (v: string): number => {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`--seed must be an integer; got "${v}"`);
  return Number(v);
};

export function register(program: Command): void {
  program
    .command("demo-model")
    .description(
      "Write a RANDOMLY INITIALISED (not pretrained) CLIP of a real shape in Hugging Face layout, for running without downloads; " +
        `--arch ${WIDE_RESNET50_2.name}: PatchCore's backbone up to layer3 as DIR/model.safetensors (torchvision names, marked random; use it with SIMCLIP_PATCHCORE_WEIGHTS=DIR)`,
    )
    .addOption(new Option("--arch <name>", "architecture").choices([...Object.keys(DEMO_ARCHS), WIDE_RESNET50_2.name]).default("ViT-L-14-336"))
    .option("--seed <n>", "random seed (same seed, same bytes)", integer, 0)
    .addOption(new Option("--dtype <dtype>", "weight precision on disk").choices(["F32", "F16"]).default("F32"))
    .requiredOption("--out <dir>", "output directory (created if needed)")
    .action(async (opts: { arch: string; seed: number; dtype: "F32" | "F16"; out: string }) => {
      if (opts.arch === WIDE_RESNET50_2.name) {
        const { file } = await writeRandomWideResNet(opts.out, { seed: opts.seed, dtype: opts.dtype });
        process.stdout.write(
          `wrote a randomly initialised ${opts.arch} up to layer3 (seed ${opts.seed}, not ImageNet-pretrained: PatchCore's results from it are not meaningful) to ${file}\n`,
        );
        return;
      }
      await writeDemoModel(opts.out, { arch: opts.arch, seed: opts.seed, dtype: opts.dtype });
      process.stdout.write(
        `wrote a randomly initialised ${opts.arch} CLIP (seed ${opts.seed}, not pretrained: results from it are not meaningful) to ${opts.out}\n`,
      );
    });
}
