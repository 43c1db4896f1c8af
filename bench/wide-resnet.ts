/**
 * `npm run bench -- clip --arch wide_resnet50_2 [--images N] [--size S] [--batch B] [--threads T] [--no-torch] [--json]`
 *
 * PatchCore's backbone: WideResNet-50-2 up to layer3 plus anomalib's patch embedding (layers 2 + 3,
 * pooled, resized, concatenated) on onnxruntime, with random weights of the real shape, at anomalib's
 * 256 px. Reported against two references measured in the same run, interleaved batch by batch as
 * the ViT bench does: a plain onnxruntime MatMul of the shape of layer3's 3x3 convolution as a GEMM
 * ([batch x 16², 9 x 512] @ [9 x 512, 512] at 256 px) and, when Debian's python3-torch and
 * torchvision exist, torchvision's `wide_resnet50_2` up to layer3 on PyTorch CPU (eval, no_grad).
 * GFLOP/s counts the convolutions' multiply-adds x 2 (the pooling, resize and ReLUs are not counted).
 */
import { createOrtSession, defaultThreads, ort } from "../src/clip/ort-executor.js";
import { matmulReference } from "./matmul-reference.js";
import { TorchWorker, interleavedBatches } from "./torch-worker.js";
import { randomWideResNetWeights } from "../src/models/patchcore/resnet-weights.js";
import { buildResNetGraph, EMBEDDING_OUTPUT, resnetFlops, stageChannels, stageGrids } from "../src/models/patchcore/wide-resnet.js";

export interface WideResNetBenchOptions {
  images?: string;
  size?: string;
  batch?: string;
  threads?: string;
  "no-torch"?: boolean;
  json?: boolean;
}

/** A persistent PyTorch process: each stdin line "B" runs one batch of B images through layer3 and answers its seconds. */
const TORCH_WORKER = `
import sys, time, json, torch, torchvision
size, batch, threads = map(int, sys.argv[1:4])
torch.set_num_threads(threads)
torch.manual_seed(0)
m = torchvision.models.wide_resnet50_2().eval()
def run(x):
    h = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    l2 = m.layer2(m.layer1(h))
    return l2, m.layer3(l2)
x = torch.randn(batch, 3, size, size)
with torch.no_grad():
    run(x[:1])
    print(json.dumps({"ready": torch.__version__}), flush=True)
    for line in sys.stdin:
        t0 = time.perf_counter()
        run(x[: int(line)])
        print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)
`;

export async function runWideResNetBench(values: WideResNetBenchOptions): Promise<void> {
  const n = Number(values.images ?? 8);
  const size = Number(values.size ?? 256);
  const threads = Number(values.threads ?? defaultThreads());
  const batch = Number(values.batch ?? 4);
  const log = (s: string) => values.json || process.stderr.write(`${s}\n`);

  const t0 = performance.now();
  const weights = randomWideResNetWeights({ seed: 1234, maxStage: 3 });
  const g = buildResNetGraph(weights, { size, layers: [2, 3] });
  const grids = stageGrids(g.spec, size);
  log(`wide_resnet50_2 up to layer3 @ ${size} px, embedding ${g.grid}x${g.grid}x${g.width}, ${n} images, batch ${batch}, ${threads} threads`);
  log("backbone: RANDOM weights of the real shape (speed only; not ImageNet-pretrained)");
  const session = await createOrtSession(g.bytes, { threads });
  log(`random weights + graph build + session: ${((performance.now() - t0) / 1000).toFixed(1)} s (${(g.bytes.byteLength / 2 ** 20).toFixed(0)} MiB ONNX)`);

  const torch = values["no-torch"] ? "skipped (--no-torch)" : await TorchWorker.start(["-c", TORCH_WORKER, size, batch, threads]);
  const c3 = stageChannels(g.spec, 3) / 2;
  const [mm, mk, mn] = [batch * grids[2]! ** 2, 9 * c3, c3];
  const matmul = await matmulReference(mm, mk, mn, threads);
  const per = 3 * size * size;
  const pixels = new Float32Array(batch * per).map((_, i) => Math.sin(i * 0.001));
  const feed = (b: number) => ({ pixel_values: new ort.Tensor("float32", pixels.subarray(0, b * per), [b, 3, size, size]) });
  const first = await session.run(feed(1));
  if (first[EMBEDDING_OUTPUT]!.dims.join(",") !== `1,${g.grid * g.grid},${g.width}`)
    throw new Error(`unexpected embedding shape ${first[EMBEDDING_OUTPUT]!.dims}`);
  const seconds = await interleavedBatches(n, batch, (b) => session.run(feed(b)), matmul, torch);
  await session.release();
  await matmul.release();
  if (typeof torch !== "string") torch.stop();

  const imagesPerS = n / seconds;
  const flops = resnetFlops(g.spec, size);
  const gflopsPerS = (flops * imagesPerS) / 1e9;
  const matmulGflops = matmul.gflops();
  const torchImagesPerS = typeof torch === "string" ? null : n / torch.total();
  log(`onnxruntime: ${imagesPerS.toFixed(3)} img/s, ${gflopsPerS.toFixed(1)} GFLOP/s (${(flops / 1e9).toFixed(1)} GFLOP per image)`);
  log(
    `plain onnxruntime MatMul [${mm}x${mk}]@[${mk}x${mn}] (layer3's 3x3 conv as a GEMM): ${matmulGflops.toFixed(1)} GFLOP/s; extraction / matmul = ${(gflopsPerS / matmulGflops).toFixed(3)}`,
  );
  if (typeof torch === "string") log(`PyTorch comparison unavailable: ${torch}`);
  else
    log(
      `PyTorch ${torch.version} torchvision wide_resnet50_2 (to layer3): ${torchImagesPerS!.toFixed(3)} img/s; onnxruntime / PyTorch = ${(imagesPerS / torchImagesPerS!).toFixed(2)}`,
    );

  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        arch: "wide_resnet50_2",
        size,
        layers: [2, 3],
        embedding: [g.grid * g.grid, g.width],
        images: n,
        batch,
        threads,
        random_weights: true,
        gflop_per_image: flops / 1e9,
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
