/**
 * `npm run bench -- clip --arch ViT-B-16|ViT-L-14-336 [--images N] [--size S] [--batch B] [--threads T] [--no-torch] [--json]`
 * (`--arch wide_resnet50_2`: PatchCore's WideResNet backbone instead, bench/wide-resnet.ts)
 *
 * Feature extraction speed of the onnxruntime vision tower (4 hooked layers, as SimCLIP hooks
 * 6/12/18/24 of ViT-L/14) with randomly initialised weights of the real shape. Reported against two
 * references measured in the same run: a plain onnxruntime MatMul of the tower's MLP shape
 * ([tokens, width] @ [width, 4 width], weights constant) and, when Debian's python3-torch and
 * torchvision exist, torchvision's VisionTransformer of the same shape on PyTorch CPU. This machine
 * is shared, so the three are interleaved batch by batch: each sees the same load.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import type { ClipVisionConfig } from "../src/clip/config.js";
import { buildDemoWeights } from "../src/clip/demo-model.js";
import { buildVisionGraph } from "../src/clip/onnx/clip-graphs.js";
import { createOrtSession, defaultThreads, ort } from "../src/clip/ort-executor.js";
import { matmulReference } from "./matmul-reference.js";

/** Input size per architecture: what the peers run (ViT-L/14-336 at 518 px), else the native size. */
const BENCH_SIZES: Record<string, number> = { "ViT-B-16": 224, "ViT-L-14-336": 518 };

/** Multiply-adds x 2 of one image through the tower (patch embedding, blocks, projection). */
function visionFlops(width: number, layers: number, patch: number, grid: number, embedDim: number): number {
  const t = 1 + grid * grid;
  const perBlock = 2 * t * width * width * (3 + 1 + 4 + 4) + 2 * 2 * t * t * width;
  return 2 * grid * grid * 3 * patch * patch * width + layers * perBlock + 2 * width * embedDim;
}

/** A persistent PyTorch process: each stdin line "B" runs one batch of B images and answers its seconds. */
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

class TorchWorker {
  private readonly lines: AsyncIterator<string>;
  version = "";
  seconds = 0;
  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  }

  static async start(size: number, v: ClipVisionConfig, batch: number, threads: number): Promise<TorchWorker | string> {
    const env = { ...process.env };
    // Debian's OpenBLAS runs at half speed with the variables this environment sets (performance note).
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    const args = [size, v.patchSize, v.layers, v.width, batch, threads].map(String);
    const proc = spawn("/usr/bin/python3", ["-c", TORCH_WORKER, ...args], { env });
    let stderr = "";
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const w = new TorchWorker(proc);
    const first = await w.lines.next();
    if (first.done) return stderr.trim().split("\n").pop() || "python3 exited";
    w.version = (JSON.parse(first.value) as { ready: string }).ready;
    return w;
  }

  async run(b: number): Promise<void> {
    this.proc.stdin.write(`${b}\n`);
    const r = await this.lines.next();
    if (r.done) throw new Error("the PyTorch worker exited");
    this.seconds += (JSON.parse(r.value) as { seconds: number }).seconds;
  }

  stop(): void {
    this.proc.stdin.end();
  }
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      arch: { type: "string", default: "ViT-L-14-336" },
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

  let t0 = performance.now();
  const { config, weights } = buildDemoWeights(values.arch, 1234);
  const v = config.vision;
  const grid = size / v.patchSize;
  const tokens = 1 + grid * grid;
  const batch = Number(values.batch ?? Math.max(1, Math.floor(4096 / tokens)));
  const layers = [1, 2, 3, 4].map((q) => (q * v.layers) / 4);
  log(`${values.arch} @ ${size} px (${tokens} tokens), hooks ${layers.join(",")}, ${n} images, batch ${batch}, ${threads} threads`);
  log("backbone: RANDOM weights of the real shape (speed only; not pretrained)");
  const model = buildVisionGraph(weights, config, { size, layers, lnPost: false });
  const session = await createOrtSession(model, { threads });
  log(`random weights + graph build + session: ${((performance.now() - t0) / 1000).toFixed(1)} s (${(model.byteLength / 2 ** 20).toFixed(0)} MiB ONNX)`);

  const torch = values["no-torch"] ? "skipped (--no-torch)" : await TorchWorker.start(size, v, batch, threads);
  const matmul = await matmulReference(tokens, v.width, 4 * v.width, threads);
  const per = 3 * size * size;
  const pixels = new Float32Array(batch * per).map((_, i) => Math.sin(i * 0.001));
  const feed = (b: number) => ({ pixel_values: new ort.Tensor("float32", pixels.subarray(0, b * per), [b, 3, size, size]) });
  await session.run(feed(1));
  let seconds = 0;
  for (let done = 0; done < n; done += batch) {
    const b = Math.min(batch, n - done);
    t0 = performance.now();
    await session.run(feed(b));
    const s = (performance.now() - t0) / 1000;
    seconds += s;
    await matmul.burst(Math.min(Math.max(s / 3, 0.5), 5));
    if (typeof torch !== "string") await torch.run(b);
  }
  await session.release();
  await matmul.release();
  if (typeof torch !== "string") torch.stop();

  const imagesPerS = n / seconds;
  const gflopsPerS = (visionFlops(v.width, v.layers, v.patchSize, grid, config.embedDim) * imagesPerS) / 1e9;
  const matmulGflops = matmul.gflops();
  const torchImagesPerS = typeof torch === "string" ? null : n / torch.seconds;
  log(`onnxruntime: ${imagesPerS.toFixed(3)} img/s, ${gflopsPerS.toFixed(1)} GFLOP/s`);
  log(
    `plain onnxruntime MatMul [${tokens}x${v.width}]@[${v.width}x${4 * v.width}]: ${matmulGflops.toFixed(1)} GFLOP/s; ` +
      `extraction / matmul = ${(gflopsPerS / matmulGflops).toFixed(3)}`,
  );
  if (typeof torch === "string") log(`PyTorch comparison unavailable: ${torch}`);
  else log(`PyTorch ${torch.version} torchvision ViT: ${torchImagesPerS!.toFixed(3)} img/s; onnxruntime / PyTorch = ${(imagesPerS / torchImagesPerS!).toFixed(2)}`);

  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        arch: values.arch,
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
