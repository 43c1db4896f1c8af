/**
 * `npm run bench -- clip --arch ViT-B-16|ViT-L-14-336 [--variant plain|dpam] [--dpam-layer N] [--images N] [--size S] [--batch B] [--threads T] [--no-torch] [--json]`
 * (`--arch wide_resnet50_2`: PatchCore's WideResNet backbone instead, bench/wide-resnet.ts)
 *
 * Feature extraction speed of the onnxruntime vision tower (4 hooked layers, as SimCLIP hooks
 * 6/12/18/24 of ViT-L/14) with randomly initialised weights of the real shape. Reported against two
 * references measured in the same run: a plain onnxruntime MatMul of the tower's MLP shape
 * ([tokens, width] @ [width, 4 width], weights constant) and, when Debian's python3-torch and
 * torchvision exist, torchvision's VisionTransformer of the same shape on PyTorch CPU. This machine
 * is shared, so the three are interleaved batch by batch: each sees the same load.
 *
 * `--variant dpam` (implied by `--dpam-layer N`): AnomalyCLIP's DPAM variant of the tower
 * (`VisionTowerOptions.dpam`, the released `DAPM_replace(DPAM_layer = N)`: the last N - 1 blocks also
 * run the v-v attention). N defaults to the released 20 on ViT-L's 24 blocks, round(20 L / 24) on L
 * blocks. Its PyTorch reference is the same computation written in bench/clip_dpam_reference.py; its
 * GFLOP/s counts the v-v attention and the v-v stream's out_proj of every replaced block.
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { dpamBlocksOf } from "../src/clip/architecture.js";
import type { ClipConfig } from "../src/clip/config.js";
import { buildDemoWeights } from "../src/clip/demo-model.js";
import { buildVisionGraph } from "../src/clip/onnx/clip-graphs.js";
import { createOrtSession, defaultThreads, ort } from "../src/clip/ort-executor.js";
import { InvalidArgumentError } from "../src/errors.js";
import { matmulReference } from "./matmul-reference.js";
import { TorchWorker, interleavedBatches } from "./torch-worker.js";

/** Input size per architecture: what the peers run (ViT-L/14-336 at 518 px), else the native size. */
const BENCH_SIZES: Record<string, number> = { "ViT-B-16": 224, "ViT-L-14-336": 518 };

/**
 * Multiply-adds x 2 of one image through the tower (patch embedding, blocks, projection). Each of the
 * `dpamBlocks` DPAM blocks adds its v-v attention (v v^T and the weighted sum of v) and that
 * stream's own out_proj.
 */
function visionFlops(width: number, layers: number, patch: number, grid: number, embedDim: number, dpamBlocks = 0): number {
  const t = 1 + grid * grid;
  const attention = 2 * 2 * t * t * width;
  const perBlock = 2 * t * width * width * (3 + 1 + 4 + 4) + attention;
  const vv = attention + 2 * t * width * width;
  return 2 * grid * grid * 3 * patch * patch * width + layers * perBlock + dpamBlocks * vv + 2 * width * embedDim;
}

/** AnomalyCLIP's DPAM_layer 20 of ViT-L's 24 blocks, carried over in proportion to a tower of `layers` blocks. */
const defaultDpamLayer = (layers: number): number => Math.min(Math.max(Math.round((20 * layers) / 24), 2), layers + 1);

/**
 * A persistent PyTorch process: each stdin line "B" runs one batch of B images and answers its
 * seconds (bench/clip_dpam_reference.py answers the same way).
 */
const TORCH_WORKER = `
import sys, time, json, torch
from torchvision.models.vision_transformer import VisionTransformer
size, patch, layers, width, batch, threads = map(int, sys.argv[1:7])
torch.set_num_threads(threads)
torch.manual_seed(0)
m = VisionTransformer(image_size=size, patch_size=patch, num_layers=layers, num_heads=width // 64,
                      hidden_dim=width, mlp_dim=4 * width).eval()
x = torch.randn(batch, 3, size, size)
with torch.no_grad():
    m(x[:1])
    print(json.dumps({"ready": torch.__version__}), flush=True)
    for line in sys.stdin:
        t0 = time.perf_counter()
        m(x[: int(line)])
        print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)
`;

const DPAM_REFERENCE = fileURLToPath(new URL("./clip_dpam_reference.py", import.meta.url));

/** The PyTorch side of the same run: torchvision's ViT, or the DPAM tower of bench/clip_dpam_reference.py. */
function startTorch(
  size: number,
  config: ClipConfig,
  batch: number,
  threads: number,
  dpam?: { layer: number; hooks: number[] },
): Promise<TorchWorker | string> {
  const v = config.vision;
  return TorchWorker.start(
    dpam
      ? [DPAM_REFERENCE, size, v.patchSize, v.layers, v.width, config.embedDim, batch, threads, dpam.layer, dpam.hooks.join(",")]
      : ["-c", TORCH_WORKER, size, v.patchSize, v.layers, v.width, batch, threads],
  );
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      arch: { type: "string", default: "ViT-L-14-336" },
      variant: { type: "string" },
      "dpam-layer": { type: "string" },
      images: { type: "string", default: "4" },
      size: { type: "string" },
      batch: { type: "string" },
      threads: { type: "string" },
      "no-torch": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  if (values.arch === "wide_resnet50_2") return (await import("./wide-resnet.js")).runWideResNetBench(values);
  const archSize = BENCH_SIZES[values.arch];
  if (archSize === undefined) throw new Error(`--arch must be one of ${[...Object.keys(BENCH_SIZES), "wide_resnet50_2"].join(", ")}, got ${values.arch}`);
  const n = Number(values.images);
  const size = Number(values.size ?? archSize);
  const threads = Number(values.threads ?? defaultThreads());
  const log = (s: string) => values.json || process.stderr.write(`${s}\n`);

  const t0 = performance.now();
  const { config, weights } = buildDemoWeights(values.arch, 1234);
  const v = config.vision;
  const grid = size / v.patchSize;
  const tokens = 1 + grid * grid;
  const batch = Number(values.batch ?? Math.max(1, Math.floor(4096 / tokens)));
  const layers = [1, 2, 3, 4].map((q) => (q * v.layers) / 4);
  const variant = values.variant ?? (values["dpam-layer"] === undefined ? "plain" : "dpam");
  if (variant !== "plain" && variant !== "dpam") throw new InvalidArgumentError(`--variant must be plain or dpam, got ${variant}`);
  if (variant === "plain" && values["dpam-layer"] !== undefined)
    throw new InvalidArgumentError(`--dpam-layer ${values["dpam-layer"]} given with --variant plain; it sets up the dpam variant`);
  const dpamLayer = variant === "dpam" ? (values["dpam-layer"] === undefined ? defaultDpamLayer(v.layers) : Number(values["dpam-layer"])) : null;
  const dpam = dpamLayer === null ? undefined : { blocks: dpamBlocksOf(config, dpamLayer) };
  log(`${values.arch} @ ${size} px (${tokens} tokens), hooks ${layers.join(",")}, ${n} images, batch ${batch}, ${threads} threads`);
  if (dpam) log(`DPAM variant: DPAM_layer ${dpamLayer}, blocks ${v.layers - dpam.blocks + 1}-${v.layers} of ${v.layers} also run the v-v attention`);
  log("backbone: RANDOM weights of the real shape (speed only; not pretrained)");
  const model = buildVisionGraph(weights, config, { size, layers, lnPost: false, dpam });
  const session = await createOrtSession(model, { threads });
  log(`random weights + graph build + session: ${((performance.now() - t0) / 1000).toFixed(1)} s (${(model.byteLength / 2 ** 20).toFixed(0)} MiB ONNX)`);

  const torch = values["no-torch"]
    ? "skipped (--no-torch)"
    : await startTorch(size, config, batch, threads, dpamLayer === null ? undefined : { layer: dpamLayer, hooks: layers });
  const matmul = await matmulReference(tokens, v.width, 4 * v.width, threads);
  const per = 3 * size * size;
  const pixels = new Float32Array(batch * per).map((_, i) => Math.sin(i * 0.001));
  const feed = (b: number) => ({ pixel_values: new ort.Tensor("float32", pixels.subarray(0, b * per), [b, 3, size, size]) });
  await session.run(feed(1));
  const seconds = await interleavedBatches(n, batch, (b) => session.run(feed(b)), matmul, torch);
  await session.release();
  await matmul.release();
  if (typeof torch !== "string") torch.stop();

  const imagesPerS = n / seconds;
  const flops = visionFlops(v.width, v.layers, v.patchSize, grid, config.embedDim, dpam?.blocks ?? 0);
  const gflopsPerS = (flops * imagesPerS) / 1e9;
  const matmulGflops = matmul.gflops();
  const torchImagesPerS = typeof torch === "string" ? null : n / torch.total();
  log(`onnxruntime: ${imagesPerS.toFixed(3)} img/s, ${gflopsPerS.toFixed(1)} GFLOP/s (${(flops / 1e9).toFixed(1)} GFLOP per image)`);
  log(
    `plain onnxruntime MatMul [${tokens}x${v.width}]@[${v.width}x${4 * v.width}]: ${matmulGflops.toFixed(1)} GFLOP/s; ` +
      `extraction / matmul = ${(gflopsPerS / matmulGflops).toFixed(3)}`,
  );
  if (typeof torch === "string") log(`PyTorch comparison unavailable: ${torch}`);
  else
    log(
      `PyTorch ${torch.version} ${dpam ? "DPAM tower (bench/clip_dpam_reference.py)" : "torchvision ViT"}: ${torchImagesPerS!.toFixed(3)} img/s; onnxruntime / PyTorch = ${(imagesPerS / torchImagesPerS!).toFixed(2)}`,
    );

  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        arch: values.arch,
        variant,
        ...(dpamLayer === null ? {} : { dpam_layer: dpamLayer }),
        size,
        tokens,
        hooked_layers: layers,
        images: n,
        batch,
        threads,
        random_weights: true,
        images_per_s: imagesPerS,
        gflops_per_s: gflopsPerS,
        matmul_gflops_per_s: matmulGflops,
        ratio_to_matmul: gflopsPerS / matmulGflops,
        torch_images_per_s: torchImagesPerS,
        speedup_vs_torch: torchImagesPerS === null ? null : imagesPerS / torchImagesPerS,
      })}\n`,
    );
  }
}
