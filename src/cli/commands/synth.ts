/** `simclip synth`: write the embedded synthetic benchmark (no download needed). */
import { type Command, Option } from "commander";
import { generateSynth, SYNTH_CATEGORIES, SYNTH_SETS } from "../../data/synth/index.js";
import { InvalidArgumentError } from "../../errors.js";
import { parseNameList } from "../options.js";

const integer = (name: string) => (v: string) => {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`--${name} must be an integer; got "${v}"`);
  return Number(v);
};

export function register(program: Command): void {
  program
    .command("synth")
    .description(
      `Generate a synthetic industrial anomaly benchmark with pixel-exact masks, in MVTec-AD or VisA layout. ` +
        `Default categories: set A (${SYNTH_SETS.A.join(", ")}) for --layout mvtec, set B (${SYNTH_SETS.B.join(", ")}) for --layout visa, ` +
        `so the two are disjoint for cross-dataset training.`,
    )
    .requiredOption("--out <dir>", "output dataset root: a new or empty folder, or an earlier synth output (its category folders are replaced)")
    .addOption(new Option("--layout <layout>", "folder layout").choices(["mvtec", "visa"]).makeOptionMandatory())
    .option("--seed <n>", "random seed (same seed and options give identical files)", integer("seed"), 0)
    .option("--size <px>", "image side in pixels", integer("size"), 256)
    .option("--categories <names...>", `categories, space- or comma-separated like the other commands (available: ${Object.keys(SYNTH_CATEGORIES).join(", ")})`)
    .option("--train <n>", "normal training images per category", integer("train"), 10)
    .option("--test-good <n>", "normal test images per category", integer("test-good"), 6)
    .option("--test-anomalous <n>", "anomalous test images per category", integer("test-anomalous"), 6)
    .action(
      async (o: {
        out: string;
        layout: "mvtec" | "visa";
        seed: number;
        size: number;
        categories?: string[];
        train: number;
        testGood: number;
        testAnomalous: number;
      }) => {
        const ds = await generateSynth({
          out: o.out,
          layout: o.layout,
          seed: o.seed,
          size: o.size,
          categories: o.categories?.flatMap(parseNameList),
          trainCount: o.train,
          testGoodCount: o.testGood,
          testAnomalousCount: o.testAnomalous,
        });
        process.stdout.write(
          `wrote ${ds.samples.length} images (${ds.categories.join(", ")}) to ${ds.root} in ${o.layout} layout; load it as "${o.layout}:${ds.root}"\n`,
        );
      },
    );
}
