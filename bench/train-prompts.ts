/**
 * `npm run bench -- train --method coop|cocoop|anomalyclip [--batch B] [--classes K] [--steps N] [--threads T] [--tfjs] [--no-torch] [--json]`
 *
 * The text side of one training step of the input-side prompt learners on ViT-L/14's text tower
 * (width 768, 12 layers, 12 heads, 77 tokens; random weights): the prompt features P of a batch
 * (context spliced into the prompts' token embeddings, CoCoOp's meta-net shift, the text tower, EOT
 * pooling, projection, normalisation) and the pullback of an upstream gradient dL/dP to every
 * trainable variable (a fixed random dL/dP stands for the loss). The text tower runs forward and
 * backward, so `sequences_per_step` 77-token prompts pass through it both ways: CoOp 2 per distinct
 * class of the batch, CoCoOp 2 per image, AnomalyCLIP 2. Ours runs them cut after the batch's last
 * EOT (`sequence_length`; same outputs and gradients under the causal mask).
 *
 * References, measured in the same run and interleaved step by step (this machine is shared): the
 * same step in PyTorch (Debian's python3-torch, OpenAI CLIP's text transformer, frozen weights, all
 * threads) on the full 77 tokens, as OpenAI's and the peers' code runs it, and cut at the same length
 * as ours (the same trick in PyTorch: the like-for-like comparison of the two executors).
 * `--tfjs` also times the previous route, the text tower on tfjs (77 tokens, one forward + backward).
 */
import { parseArgs } from "node:util";
import { tf, tfReady } from "../src/tf.js";
import { createRng } from "../src/data/random.js";
import { ClipTokenizer } from "../src/clip/tokenizer.js";
import { bundledTokenizerDir } from "../src/clip/demo-model.js";
import { defaultThreads } from "../src/clip/ort-executor.js";
import { PromptLearnerClip } from "../src/models/coop/model.js";
import type { PromptLearnerVariant } from "../src/models/coop/config.js";
import type { ImageFeatures } from "../src/models/common/types.js";
import { setProgressFactory } from "../src/progress.js";
import { InvalidArgumentError } from "../src/errors.js";
import { PATCH, W, randn, randomVitLTextBackbone } from "./vit-l-shapes.js";
import { TorchWorker } from "./torch-worker.js";

const METHODS: PromptLearnerVariant[] = ["coop", "cocoop", "anomalyclip"];

/** A persistent PyTorch process: each stdin line runs one step and answers its seconds. */
const TORCH_WORKER = `
import sys, time, json, torch, torch.nn as nn, torch.nn.functional as F
method = sys.argv[1]
n_images, classes, m_ctx, threads, cut = map(int, sys.argv[2:7])
torch.set_num_threads(threads)
torch.manual_seed(0)
W, L, H, T, E, WV = 768, 12, 12, 77, 768, 1024

class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)

class ResidualAttentionBlock(nn.Module):  # OpenAI clip/model.py
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(W, H)
        self.ln_1 = nn.LayerNorm(W)
        self.mlp = nn.Sequential(nn.Linear(W, 4 * W), QuickGELU(), nn.Linear(4 * W, W))
        self.ln_2 = nn.LayerNorm(W)
    def forward(self, x, mask):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))

blocks = nn.ModuleList([ResidualAttentionBlock() for _ in range(L)])
ln_final = nn.LayerNorm(W)
for p in list(blocks.parameters()) + list(ln_final.parameters()):
    p.requires_grad_(False)
pos = torch.randn(T, W) * 0.01
mask = torch.full((T, T), float("-inf")).triu_(1)
frozen_text_proj = torch.randn(W, E) * W ** -0.5

pairs = n_images if method == "cocoop" else (1 if method == "anomalyclip" else classes)
templates = torch.randn(pairs * 2, T, W) * 0.02
eot = torch.full((pairs * 2,), cut - 1)
ctx = nn.Parameter(torch.randn(2 if method == "anomalyclip" else 1, m_ctx, W) * 0.02)
params = [ctx]
if method != "anomalyclip":
    text_proj = nn.Parameter(torch.randn(W, E) * W ** -0.5)
    params.append(text_proj)
if method == "cocoop":
    visual_proj = nn.Parameter(torch.randn(WV, E) * WV ** -0.5)
    meta = nn.Sequential(nn.Linear(E, E // 16), nn.ReLU(), nn.Linear(E // 16, W))
    params += [visual_proj, *meta.parameters()]
    pooled_images = torch.randn(n_images, WV)
dP = torch.randn(n_images if method != "anomalyclip" else 1, 2, E)

def step(T):
    c = ctx.expand(2, -1, -1) if ctx.shape[0] == 1 else ctx
    if method == "cocoop":
        shift = meta(F.normalize(pooled_images @ visual_proj, dim=-1))
        c = (c.unsqueeze(0) + shift[:, None, None, :]).reshape(-1, m_ctx, W)
    else:
        c = c.repeat(pairs, 1, 1)
    x = (torch.cat([templates[:, :1], c, templates[:, 1 + m_ctx:]], 1) + pos)[:, :T]
    x = x.permute(1, 0, 2)
    for b in blocks:
        x = b(x, mask[:T, :T])
    x = ln_final(x.permute(1, 0, 2))
    feats = x[torch.arange(x.shape[0]), eot] @ (frozen_text_proj if method == "anomalyclip" else text_proj)
    P = F.normalize(feats, dim=-1).reshape(-1, 2, E)
    if method == "coop":
        P = P[torch.arange(n_images) % classes]
    (P * dP).sum().backward()
    for p in params:
        p.grad = None

step(T)
step(cut)
print(json.dumps({"ready": torch.__version__}), flush=True)
for line in sys.stdin:
    t0 = time.perf_counter()
    step(int(line))
    print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)
`;

export async function runPromptLearners(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      method: { type: "string" },
      batch: { type: "string", default: "8" },
      classes: { type: "string", default: "4" },
      steps: { type: "string", default: "3" },
      threads: { type: "string" },
      tfjs: { type: "boolean", default: false },
      "no-torch": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const method = values.method as PromptLearnerVariant;
  if (!METHODS.includes(method)) throw new InvalidArgumentError(`--method must be one of simclip, ${METHODS.join(", ")}; got ${values.method}`);
  const batch = Number(values.batch),
    classes = Math.min(Number(values.classes), batch),
    steps = Number(values.steps);
  const threads = Number(values.threads ?? defaultThreads());
  const log = (s: string) => values.json || process.stderr.write(`${s}\n`);
  const backend = await tfReady();
  setProgressFactory(() => ({ update() {}, stop() {} }));

  const rng = createRng("bench-train-prompts");
  const backbone = { ...randomVitLTextBackbone(rng), tokenizer: await ClipTokenizer.fromDir(bundledTokenizerDir()) };
  const m = await PromptLearnerClip.create(backbone, method, { size: 518, layers: [6, 12, 18, 24] });
  const categories = Array.from(
    { length: batch },
    (_, i) => ["bottle", "cable", "capsule", "carpet", "grid", "hazelnut", "leather", "metal_nut"][i % classes]!,
  );
  const features: ImageFeatures[] = categories.map(() => ({ patchTokens: new Map(), pooled: randn(rng, W, 1), grid: 518 / PATCH, width: W }));
  await m.prepare(categories);
  const dP = tf.tensor3d(randn(rng, batch * 2 * backbone.config.embedDim, 1), [batch, 2, backbone.config.embedDim]);

  let sequences = 0,
    length = 0;
  const ours = async () => {
    const trace = await m.tracePromptPairs(categories, features);
    const grads = await trace.pullback(dP);
    tf.dispose([...grads.values()]);
    trace.dispose();
    [sequences, length] = [trace.sequences, trace.length];
  };
  // The previous route: the text tower on tfjs' tape, one forward and backward (its training step ran
  // one more forward on top of that).
  const tfjsRoute = () => {
    const f = () => tf.sum(tf.mul(m.promptPairs(categories, m.metaNet ? m.imageEmbeddings(features) : undefined), dP)) as tf.Scalar;
    const { value, grads } = tf.variableGrads(f, m.trainableVariables());
    tf.dispose([value, ...Object.values(grads)]);
  };

  let t0 = performance.now();
  await ours(); // session creation and first run, not timed
  const setup = (performance.now() - t0) / 1000;
  const CTX = backbone.config.text.contextLength;
  log(
    `${method}: ViT-L/14 text tower (768 wide, 12 layers, 77 tokens; RANDOM weights), batch ${batch}, ${sequences} sequences per step cut at ${length} tokens, ${threads} threads, tfjs ${backend}`,
  );
  log(`onnxruntime graphs + sessions + first step: ${setup.toFixed(1)} s`);
  const torch = values["no-torch"]
    ? "skipped (--no-torch)"
    : await TorchWorker.start(["-c", TORCH_WORKER, method, batch, classes, m.config.contextLength, threads, length]);
  let seconds = 0;
  for (let s = 0; s < steps; s++) {
    t0 = performance.now();
    await ours();
    seconds += (performance.now() - t0) / 1000;
    if (typeof torch !== "string") {
      await torch.run(CTX);
      await torch.run(length);
    }
  }
  if (typeof torch !== "string") torch.stop();
  let tfjsSeconds: number | null = null;
  if (values.tfjs) {
    tf.dispose(tf.tidy(() => m.promptPairs(categories, m.metaNet ? m.imageEmbeddings(features) : undefined))); // uploads the weights, not timed
    t0 = performance.now();
    tfjsRoute();
    tfjsSeconds = (performance.now() - t0) / 1000;
  }
  m.dispose();
  dP.dispose();

  const stepsPerS = steps / seconds;
  const torchRate = (l: number) => (typeof torch === "string" ? null : steps / torch.seconds.get(String(l))!);
  const [torchStepsPerS, torchCutStepsPerS] = [torchRate(CTX), torchRate(length)];
  log(`onnxruntime: ${stepsPerS.toFixed(3)} steps/s (${(stepsPerS * sequences).toFixed(2)} sequences/s forward + backward)`);
  if (typeof torch === "string") log(`PyTorch comparison unavailable: ${torch}`);
  else {
    log(
      `PyTorch ${torch.version}, same step on 77 tokens: ${torchStepsPerS!.toFixed(3)} steps/s; onnxruntime / PyTorch = ${(stepsPerS / torchStepsPerS!).toFixed(2)}`,
    );
    log(
      `PyTorch, same step cut at ${length} tokens like ours: ${torchCutStepsPerS!.toFixed(3)} steps/s; onnxruntime / PyTorch = ${(stepsPerS / torchCutStepsPerS!).toFixed(2)}`,
    );
  }
  if (tfjsSeconds !== null)
    log(
      `tfjs text tower (previous route), one step: ${(1 / tfjsSeconds).toFixed(3)} steps/s; onnxruntime / tfjs = ${(tfjsSeconds / (1 / stepsPerS)).toFixed(1)}`,
    );
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        method,
        batch,
        classes,
        steps,
        threads,
        backend,
        random_weights: true,
        sequences_per_step: sequences,
        sequence_length: length,
        steps_per_s: stepsPerS,
        torch_steps_per_s: torchStepsPerS,
        speedup_vs_torch: torchStepsPerS === null ? null : stepsPerS / torchStepsPerS,
        torch_cut_steps_per_s: torchCutStepsPerS,
        speedup_vs_torch_cut: torchCutStepsPerS === null ? null : stepsPerS / torchCutStepsPerS,
        tfjs_steps_per_s: tfjsSeconds === null ? null : 1 / tfjsSeconds,
        note: "step = prompt features of the batch (text tower forward) and the pullback of dL/dP to the trainable variables (text tower backward); the vision-side loss terms are not included. torch: the same step on all 77 tokens; torch_cut: cut at sequence_length like ours",
      })}\n`,
    );
  }
}
