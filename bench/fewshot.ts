/**
 * `npm run bench -- fewshot [--shots 4] [--queries 4] [--size 518] [--layers 6,12,18,24] [--json]`
 *
 * SimCLIP+ few-shot scoring at ViT-L/14-336's shapes (518 px: 37 x 37 = 1,369 patch tokens of width
 * 1,024 per hooked layer, 4 layers, joint width 768), random features, k-shot memory of k x 1,369
 * features per layer. Reported in query images/s for
 *   - the exact nearest-neighbour search alone (4 layers: normalise, MatMul + ReduceMax + ArgMax), and
 *   - the whole SimCLIP+ score (zero-shot SimCLIP pass, search, Algorithm 1, M_v, upsampling, smoothing),
 * each as a ratio to a plain onnxruntime MatMul of the same size ([1369, 1024] @ [1024, k x 1369] per
 * layer, the search's unavoidable core) timed in the same run.
 */
import { parseArgs } from "node:util";
import { tfReady } from "../src/tf.js";
import { createRng } from "../src/data/random.js";
import { SimClip } from "../src/models/simclip/model.js";
import { SimClipPlus } from "../src/models/simclip-plus/model.js";
import { MemoryGallery } from "../src/models/components/memory-gallery.js";
import { frozenMatMul } from "../src/models/common/frozen-matmul.js";
import type { ImageFeatures } from "../src/models/common/types.js";
import { setProgressFactory } from "../src/progress.js";
import { PATCH, W, randn, randomVitLBackbone, randomVitLFeatures } from "./vit-l-shapes.js";

async function timed(repeats: number, f: () => Promise<unknown>): Promise<number> {
  await f(); // warm-up: session creation, kernel compilation, interpolation matrices
  const t0 = performance.now();
  for (let r = 0; r < repeats; r++) await f();
  return (performance.now() - t0) / 1000 / repeats;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      shots: { type: "string", default: "4" },
      queries: { type: "string", default: "4" },
      size: { type: "string", default: "518" },
      layers: { type: "string", default: "6,12,18,24" },
      json: { type: "boolean", default: false },
    },
  });
  const shots = Number(values.shots),
    queries = Number(values.queries),
    size = Number(values.size);
  const layers = values.layers.split(",").map(Number);
  const grid = size / PATCH;
  const P = grid * grid;
  const backend = await tfReady();
  setProgressFactory(() => ({ update() {}, stop() {} }));
  const rng = createRng("bench-fewshot");
  const backbone = randomVitLBackbone(rng);
  const image = (): ImageFeatures => randomVitLFeatures(rng, layers, grid);
  const normals = Array.from({ length: shots }, image);
  const query = Array.from({ length: queries }, image);
  const m = shots * P;

  // Reference: the plain product of the search, per query image (all layers).
  const memT = randn(rng, W * m, 1);
  const matmulSeconds =
    (await timed(1, async () => {
      for (let i = 0; i < queries; i++) for (const l of layers) await frozenMatMul(query[i]!.patchTokens.get(l)!, P, W, memT, m);
    })) / queries;

  const gallery = MemoryGallery.build(normals, layers);
  const searchSeconds =
    (await timed(1, async () => {
      for (let i = 0; i < queries; i++) for (const l of layers) await gallery.search(l, query[i]!.patchTokens.get(l)!, P);
    })) / queries;

  const model = new SimClipPlus(await SimClip.create(backbone, { layers, size }));
  const setMemorySeconds = await timed(1, () => model.setMemory("bottle", normals));
  const scoreSeconds = (await timed(1, () => model.score({ features: query, categories: query.map(() => "bottle") }))) / queries;
  model.dispose();

  const gflop = (2 * P * W * m * layers.length) / 1e9;
  const result = {
    backend,
    shots,
    queries,
    size,
    grid,
    layers,
    memory_per_layer: m,
    matmul_images_per_s: 1 / matmulSeconds,
    matmul_gflop_per_s: gflop / matmulSeconds,
    search_images_per_s: 1 / searchSeconds,
    search_over_matmul_time: searchSeconds / matmulSeconds,
    score_images_per_s: 1 / scoreSeconds,
    score_over_matmul_time: scoreSeconds / matmulSeconds,
    set_memory_seconds: setMemorySeconds,
    note: "per query image, all layers; score = the whole SimCLIP+ map and text probability (per-class image-score finalisation excluded: O(images))",
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(
      `SimCLIP+ ${shots}-shot on ViT-L/14-336-shaped features (${size} px, ${P} x ${W} tokens, layers ${layers.join(",")}, memory ${m} per layer, ${backend}):\n` +
        `  plain MatMul [${P}x${W}]@[${W}x${m}] x ${layers.length}  ${(1 / matmulSeconds).toFixed(3)} images/s (${(gflop / matmulSeconds).toFixed(1)} GFLOP/s)\n` +
        `  nearest-neighbour search       ${(1 / searchSeconds).toFixed(3)} images/s  (time ratio to the MatMul: ${(searchSeconds / matmulSeconds).toFixed(3)})\n` +
        `  whole SimCLIP+ score           ${(1 / scoreSeconds).toFixed(3)} images/s  (time ratio to the MatMul: ${(scoreSeconds / matmulSeconds).toFixed(3)})\n` +
        `  setMemory (gallery + priors)   ${setMemorySeconds.toFixed(2)} s per class\n`,
    );
  }
}
