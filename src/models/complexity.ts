/**
 * Paper Table 2: parameters and FLOPs of the prompt-learning choices inside the SimCLIP framework
 * (CoOp, CoCoOp, IPT), computed by the package rather than typed in.
 *
 * - FLOPs are counted the way the paper's numbers (and thop/fvcore) count them: multiply-accumulates
 *   of the matrix products, G = 1e9. The CLIP towers are counted by running the one shared
 *   architecture (`clip/architecture.ts`, the code that also emits the ONNX graphs and the tfjs
 *   forward) on a shape-only executor that records every MatMul's size; element-wise operations are
 *   reported apart. The heads' products are counted from their modules' parameter shapes.
 * - Parameters: the backbone's tensors plus the method's own modules, counted from the modules built
 *   the way training builds them (SimCLIP's trainable projections start as, and replace, CLIP's own,
 *   so they are not counted twice).
 * Two FLOP columns: `gmacs`, one forward of one image with the prompt features computed in that
 * forward (what thop reports on a model whose forward encodes the prompts); and `gmacsTrainStep`,
 * what a training step on one image must run, where a frozen text tower fed fixed prompts (IPT's case,
 * which refines the tower's OUTPUT) is run once per class and cached, while input-side prompt learning
 * (CoOp, CoCoOp) runs the text tower every step.
 */
import type { tf } from "../tf.js";
import type { ClipConfig } from "../clip/config.js";
import type { ClipOps } from "../clip/ops.js";
import type { ClipWeights, WeightTensor } from "../clip/weights.js";
import { textTower, visionTower } from "../clip/architecture.js";
import { ShapeError } from "../errors.js";
import { SimClip } from "./simclip/model.js";
import { PromptLearnerClip, type PromptLearnerBackbone } from "./coop/model.js";
import { variableKey } from "./common/init.js";

type Shape = number[];

const prod = (s: Shape): number => s.reduce((a, b) => a * b, 1);

function broadcast(a: Shape, b: Shape): Shape {
  const n = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new ShapeError(`cannot broadcast [${a}] with [${b}]`);
    out.push(Math.max(x, y));
  }
  return out;
}

/** A `ClipOps` executor over shapes only: counts MatMul multiply-accumulates and element-wise outputs. */
export class CountingOps implements ClipOps<Shape> {
  macs = 0;
  elementwise = 0;

  constant(_key: string, make: () => WeightTensor): Shape {
    return [...make().shape];
  }

  matmul(a: Shape, b: Shape): Shape {
    const [m, k] = a.slice(-2) as [number, number];
    const [k2, n] = b.slice(-2) as [number, number];
    if (k !== k2) throw new ShapeError(`matmul [${a}] x [${b}]: inner sizes ${k} and ${k2} differ; expected equal`);
    const batch = broadcast(a.slice(0, -2), b.slice(0, -2));
    this.macs += prod(batch) * m * k * n;
    return [...batch, m, n];
  }

  private pointwise(s: Shape): Shape {
    this.elementwise += prod(s);
    return s;
  }

  add(a: Shape, b: Shape): Shape {
    return this.pointwise(broadcast(a, b));
  }

  mul(a: Shape, b: Shape): Shape {
    return this.pointwise(broadcast(a, b));
  }

  sigmoid(x: Shape): Shape {
    return this.pointwise(x);
  }
  erf(x: Shape): Shape {
    return this.pointwise(x);
  }

  layerNorm(x: Shape): Shape {
    return this.pointwise(x);
  }

  softmax(x: Shape): Shape {
    return this.pointwise(x);
  }

  reshape(x: Shape, shape: number[]): Shape {
    const known = prod(shape.filter((d) => d !== -1));
    return shape.map((d) => (d === -1 ? prod(x) / known : d));
  }

  transpose(x: Shape, perm: number[]): Shape {
    return perm.map((i) => x[i]!);
  }

  pad(x: Shape, before: number[], after: number[]): Shape {
    return x.map((d, i) => d + before[i]! + after[i]!);
  }

  slice(x: Shape, axis: number, start: number, end: number): Shape {
    return x.map((d, i) => (i === axis ? end - start : d));
  }

  gather(table: Shape, ids: Shape): Shape {
    return [...ids, table[1]!];
  }
}

export interface OpCount {
  macs: number;
  elementwise: number;
}

/** One image through the vision tower at input size `size`. */
export function visionTowerCost(weights: ClipWeights, config: ClipConfig, size: number): OpCount {
  const ops = new CountingOps();
  visionTower(ops, weights, config, [1, 3, size, size], { grid: size / config.vision.patchSize, layers: [], lnPost: false });
  return { macs: ops.macs, elementwise: ops.elementwise };
}

/** `prompts` sentences through the text tower (77 tokens each). */
export function textTowerCost(weights: ClipWeights, config: ClipConfig, prompts: number): OpCount {
  const ops = new CountingOps();
  const L = config.text.contextLength;
  textTower(ops, weights, config, [prompts, L, config.text.width], [prompts, 1, L]);
  return { macs: ops.macs, elementwise: ops.elementwise };
}

export interface ComplexityRow {
  method: "CoOp" | "CoCoOp" | "IPT";
  /** Backbone + the method's modules, in parameters (the paper's table is in M = 1e6). */
  params: number;
  backboneParams: number;
  /** The method's own parameters by module name (adapters, prompt module). */
  moduleParams: Record<string, number>;
  /** G multiply-accumulates, one image's forward with its prompt features. */
  gmacs: number;
  /** G multiply-accumulates of a training step on a batch of one image (frozen, fixed-input text features cached). */
  gmacsTrainStep: number;
  breakdown: { vision: number; text: number; heads: number };
}

function countVariables(vars: tf.Variable[], skip: Set<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of vars) {
    const key = variableKey(v);
    if (skip.has(key)) continue;
    const module = key.startsWith("mhva.") ? "adapters" : key.split(".")[0]!;
    out[module] = (out[module] ?? 0) + prod(v.shape);
  }
  return out;
}

/**
 * Table 2 for `backbone` at input size `size` with hooked `layers` (paper: ViT-L/14-336 at 518,
 * layers 6, 12, 18, 24), two prompts (normal, anomalous) per class.
 */
export async function promptLearningComplexity(backbone: PromptLearnerBackbone, opts: { size: number; layers: number[] }): Promise<ComplexityRow[]> {
  const c = backbone.config;
  let backboneParams = 0;
  for (const t of backbone.weights.values()) backboneParams += prod(t.shape);
  const vision = visionTowerCost(backbone.weights, c, opts.size).macs;
  const text2 = textTowerCost(backbone.weights, c, 2).macs;
  const P = (opts.size / c.vision.patchSize) ** 2;
  const E = c.embedDim;
  const Wt = c.text.width;
  const L = c.text.contextLength;
  // Per hooked layer: the adapter X W (P x W x E) and the similarity to two prompts (P x E x 2).
  const adapters = opts.layers.length * P * (c.vision.width * E + 2 * E);
  // Both projections of the prompt features and of the image feature.
  const projections = 2 * Wt * E + c.vision.width * E;
  const shared = new Set(["visual_projection", "text_projection"]);

  const simclip = await SimClip.create(backbone, { size: opts.size, layers: opts.layers });
  const ipt = simclip.ipt!;
  const iptParams = countVariables(simclip.trainableVariables(), shared);
  // IPT per prompt: the 77 -> 1 token weighting over Wt features; once: the MLP 8 -> 256 -> Wt.
  const iptMacs = 2 * L * Wt + ipt.seedDim * ipt.hidden + ipt.hidden * Wt;
  simclip.dispose();

  const rows: ComplexityRow[] = [
    {
      method: "IPT",
      params: 0,
      backboneParams,
      moduleParams: iptParams,
      gmacs: (vision + text2 + adapters + projections + iptMacs) / 1e9,
      gmacsTrainStep: (vision + adapters + projections + iptMacs) / 1e9,
      breakdown: { vision: vision / 1e9, text: text2 / 1e9, heads: (adapters + projections + iptMacs) / 1e9 },
    },
  ];
  for (const variant of ["coop", "cocoop"] as const) {
    const m = await PromptLearnerClip.create(backbone, variant, { size: opts.size, layers: opts.layers });
    const moduleParams = countVariables(m.trainableVariables(), shared);
    const meta = m.metaNet ? prod(m.metaNet.w1.shape) + prod(m.metaNet.w2.shape) : 0;
    m.dispose();
    const heads = adapters + projections + meta;
    rows.push({
      method: variant === "coop" ? "CoOp" : "CoCoOp",
      params: 0,
      backboneParams,
      moduleParams,
      gmacs: (vision + text2 + heads) / 1e9,
      gmacsTrainStep: (vision + text2 + heads) / 1e9,
      breakdown: { vision: vision / 1e9, text: text2 / 1e9, heads: heads / 1e9 },
    });
  }
  for (const r of rows) r.params = backboneParams + Object.values(r.moduleParams).reduce((a, b) => a + b, 0);
  return [rows[1]!, rows[2]!, rows[0]!];
}
