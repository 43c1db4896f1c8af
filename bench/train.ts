/**
 * `npm run bench -- train [--batch B] [--steps N] [--size S] [--layers 6,12,18,24] [--json]`
 * (`--method coop|cocoop|anomalyclip`: the prompt learners' text-tower step, `train-prompts.ts`)
 *
 * SimCLIP training speed on cached features of ViT-L/14-336's shape (width 1024, joint/text width
 * 768, 77 tokens, 518 px = a 37 x 37 grid, 4 hooked layers), random values. Reported as training
 * images/s and its ratio to the forward-only (scoring) rate of the same model on the same batch,
 * measured in the same run. Reference (docs/performance.md): the authors' PyTorch step on this kind of
 * machine is ~1.3 images/s.
 */
import { parseArgs } from "node:util";
import { tfReady } from "../src/tf.js";
import { createRng } from "../src/data/random.js";
import { SimClip } from "../src/models/simclip/model.js";
import type { ImageFeatures, TrainItem } from "../src/models/common/types.js";
import { setProgressFactory } from "../src/progress.js";
import { PATCH, randomVitLBackbone, randomVitLFeatures } from "./vit-l-shapes.js";
import { runPromptLearners } from "./train-prompts.js";

export async function run(argv: string[]): Promise<void> {
  const method = parseArgs({ args: argv, options: { method: { type: "string", default: "simclip" } }, strict: false }).values.method;
  if (method !== "simclip") return runPromptLearners(argv);
  const { values } = parseArgs({
    args: argv,
    options: {
      method: { type: "string" },
      batch: { type: "string", default: "16" },
      steps: { type: "string", default: "2" },
      size: { type: "string", default: "518" },
      layers: { type: "string", default: "6,12,18,24" },
      json: { type: "boolean", default: false },
    },
  });
  const batch = Number(values.batch),
    steps = Number(values.steps),
    size = Number(values.size);
  const layers = values.layers.split(",").map(Number);
  const grid = size / PATCH;
  const backend = await tfReady();
  setProgressFactory(() => ({ update() {}, stop() {} }));
  const rng = createRng("bench-train");
  const backbone = randomVitLBackbone(rng);
  const model = await SimClip.create(backbone, { layers, size });
  const features: ImageFeatures[] = Array.from({ length: batch }, () => randomVitLFeatures(rng, layers, grid));
  const items: TrainItem[] = features.map((f, i) => {
    const mask = new Uint8Array(size * size);
    if (i % 2) mask.fill(1, size * Math.floor(size / 3), size * Math.floor(size / 2));
    return { features: f, category: i % 4 ? "bottle" : "pcb", label: (i % 2) as 0 | 1, mask };
  });
  await model.prepare(["bottle", "pcb"]);

  // Warm-up of both paths (kernel compilation, interpolation matrices), not timed.
  for (const g of (await model.lossAndGradients(items.slice(0, 1))).grads.values()) g.dispose();
  await model.score({ features: features.slice(0, 1), categories: ["bottle"] });

  let t0 = performance.now();
  for (let s = 0; s < steps; s++) await model.score({ features, categories: items.map((i) => i.category) });
  const forwardRate = (steps * batch) / ((performance.now() - t0) / 1000);

  t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const { grads } = await model.lossAndGradients(items);
    for (const g of grads.values()) g.dispose();
    model.afterStep();
  }
  const trainRate = (steps * batch) / ((performance.now() - t0) / 1000);
  model.dispose();

  const result = {
    backend,
    batch,
    steps,
    size,
    grid,
    layers,
    train_images_per_s: trainRate,
    forward_images_per_s: forwardRate,
    train_over_forward: trainRate / forwardRate,
    note: "train = loss + gradients of all terms as training computes them (adapter matmuls on onnxruntime, the rest on tfjs; the Adam update of ~3.5M parameters excluded); forward = scoring incl. Gaussian smoothing",
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(
      `SimCLIP training on ViT-L/14-336-shaped cached features (${size} px, ${grid}x${grid} grid, layers ${layers.join(",")}, batch ${batch}, ${backend}):\n` +
        `  train    ${trainRate.toFixed(3)} images/s\n` +
        `  forward  ${forwardRate.toFixed(3)} images/s (scoring)\n` +
        `  ratio    train / forward = ${(trainRate / forwardRate).toFixed(3)}\n`,
    );
  }
}
