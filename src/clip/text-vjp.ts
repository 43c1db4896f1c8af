/**
 * CLIP's text tower with gradients on onnxruntime: the forward pass, and the vector-Jacobian product
 * with respect to the input token embeddings (and deep text prompts), from the graphs that
 * `buildTextVjpGraphs` derives from `architecture.ts` by reverse-mode differentiation. What the
 * input-side prompt learners (CoOp, CoCoOp, AnomalyCLIP) used to get from the tfjs executor, at
 * onnxruntime's speed; the tfjs executor (`tfjs-forward.ts`) stays as the reference.
 *
 * Sessions are built once per (weights, activation, deep-prompt shape, onnxruntime options, sequence
 * length: see `OrtTextTower.sequenceLength`) and kept until `releaseOrtTextTowers(weights)`
 * (ClipModel.dispose calls it); each holds its own copy of the tower's weights.
 */
import type { InferenceSession } from "onnxruntime-node";
import { tf } from "../tf.js";
import type { ClipConfig } from "./config.js";
import type { ClipWeights } from "./weights.js";
import { buildTextVjpGraphs, type TextVjpSpec } from "./onnx/clip-graphs.js";
import { gradName, type VjpGraphs } from "./autodiff/vjp-graphs.js";
import { checkDeepTextPrompts } from "./architecture.js";
import { createOrtSession, ort, type OrtSessionOptions } from "./ort-executor.js";
import { eotOneHot } from "./tfjs-forward.js";
import { ShapeError } from "../errors.js";

export interface TextTowerInputs {
  /** [n, contextLength, width] token embeddings. */
  embeds: Float32Array;
  n: number;
  /** Each row's EOT position. */
  eotIndex: number[];
  /** [depth, length, width], when the tower was built with deep prompts. */
  deepPrompts?: Float32Array;
}

export interface TextTowerGradients {
  /** [n, contextLength, width]. */
  inputEmbeds: Float32Array;
  /** [depth, length, width], or null without deep prompts. */
  deepPrompts: Float32Array | null;
}

/** One forward pass with what its backward pass needs; `backward` may be called once. */
export interface TextTowerTrace {
  n: number;
  /** The sequence length the batch ran at (`OrtTextTower.sequenceLength`). */
  length: number;
  /** [n, width]: ln_final at each row's EOT position, before the projection. */
  pooled: Float32Array;
  /** [n, embedDim]: pooled @ text_projection. */
  textEmbeds: Float32Array;
  /** Gradients of the inputs given those of the outputs (null: zero). */
  backward(dPooled: Float32Array | null, dTextEmbeds: Float32Array | null): Promise<TextTowerGradients>;
}

type Feeds = Record<string, ort.Tensor>;

/** The two sessions of one sequence length. */
interface LengthGraphs {
  forward: InferenceSession;
  backward: InferenceSession;
  residuals: VjpGraphs["residuals"];
  /**
   * Residual buffers of the last finished backward pass, reused by the next forward pass of the same
   * batch size: onnxruntime writes them in place, sparing an allocation and copy of ~10 activations
   * per token and block every step.
   */
  spare: { n: number; tensors: Feeds } | null;
}

/** Sequence lengths are rounded up to a multiple of this, so few graphs serve all batches. */
const LENGTH_STEP = 8;

export class OrtTextTower {
  private readonly graphs = new Map<number, Promise<LengthGraphs>>();

  private constructor(
    private readonly weights: ClipWeights,
    readonly config: ClipConfig,
    readonly spec: TextVjpSpec,
    private readonly opts: OrtSessionOptions,
  ) {}

  /** Sessions are built per sequence length on first use (`sequenceLength`). */
  static async create(weights: ClipWeights, config: ClipConfig, spec: TextVjpSpec = {}, opts: OrtSessionOptions = {}): Promise<OrtTextTower> {
    if (spec.deep) checkDeepTextPrompts(config, spec.deep.depth, spec.deep.length);
    return new OrtTextTower(weights, config, spec, opts);
  }

  /**
   * The length a batch runs at: its last EOT + 1, rounded up to a multiple of 8, at most the context
   * length. The causal mask makes every position after a row's EOT dead work for its EOT feature, and
   * prompt learners' prompts are short (CoOp's 16 context words and a class name end near position
   * 21 of 77), so this cuts most of the tower's cost with the same outputs and gradients.
   */
  sequenceLength(eotIndex: number[]): number {
    const ctx = this.config.text.contextLength;
    const needed = Math.max(...eotIndex, this.spec.deep?.length ?? 0) + 1;
    return Math.min(ctx, Math.ceil(needed / LENGTH_STEP) * LENGTH_STEP);
  }

  private lengthGraphs(length: number): Promise<LengthGraphs> {
    let g = this.graphs.get(length);
    if (!g) {
      g = (async () => {
        const built = buildTextVjpGraphs(this.weights, this.config, this.spec, length);
        const [forward, backward] = await Promise.all([createOrtSession(built.forward, this.opts), createOrtSession(built.backward, this.opts)]);
        return { forward, backward, residuals: built.residuals, spare: null };
      })();
      this.graphs.set(length, g);
      g.catch(() => this.graphs.delete(length));
    }
    return g;
  }

  private feeds(x: TextTowerInputs, length: number): Feeds {
    const { contextLength: ctx, width } = this.config.text;
    const { n } = x;
    if (!Number.isInteger(n) || n < 1 || x.embeds.length !== n * ctx * width || x.eotIndex.length !== n)
      throw new ShapeError(
        `text tower: embeds must be n x ${ctx} x ${width} floats with n = eotIndex.length = ${x.eotIndex.length}, found ${x.embeds.length} floats for n = ${n}`,
      );
    let embeds = x.embeds;
    if (length < ctx) {
      embeds = new Float32Array(n * length * width);
      for (let r = 0; r < n; r++) embeds.set(x.embeds.subarray(r * ctx * width, (r * ctx + length) * width), r * length * width);
    }
    const feeds: Feeds = {
      input_embeds: new ort.Tensor("float32", embeds, [n, length, width]),
      eot_onehot: new ort.Tensor("float32", eotOneHot(x.eotIndex, length), [n, 1, length]),
    };
    const deep = this.spec.deep;
    if (deep) {
      if (x.deepPrompts?.length !== deep.depth * deep.length * width)
        throw new ShapeError(`text tower: deep prompts must be ${deep.depth} x ${deep.length} x ${width} floats, found ${x.deepPrompts?.length ?? "none"}`);
      feeds.deep_prompts = new ort.Tensor("float32", x.deepPrompts, [deep.depth, deep.length, width]);
    } else if (x.deepPrompts) {
      throw new ShapeError("text tower: deep prompts given to a tower built without them");
    }
    return feeds;
  }

  /** Forward only: [n, width] pooled features and [n, embedDim] text embeddings. */
  async run(x: TextTowerInputs): Promise<{ pooled: Float32Array; textEmbeds: Float32Array }> {
    const length = this.sequenceLength(x.eotIndex);
    const feeds = this.feeds(x, length);
    const res = await (await this.lengthGraphs(length)).forward.run(feeds, ["pooled", "text_embeds"]);
    return { pooled: res.pooled!.data as Float32Array, textEmbeds: res.text_embeds!.data as Float32Array };
  }

  async forward(x: TextTowerInputs): Promise<TextTowerTrace> {
    const length = this.sequenceLength(x.eotIndex);
    const feeds = this.feeds(x, length);
    const g = await this.lengthGraphs(length);
    const { n } = x;
    const spare = g.spare;
    g.spare = null;
    const residuals =
      spare?.n === n
        ? spare.tensors
        : Object.fromEntries(
            g.residuals.map((r) => {
              const shape = r.shape.map((d) => (d > 0 ? d : -d * n));
              return [r.name, new ort.Tensor("float32", new Float32Array(shape.reduce((a, b) => a * b, 1)), shape)];
            }),
          );
    const res = await g.forward.run(feeds, { pooled: null, text_embeds: null, ...residuals });
    const { contextLength: ctx, width } = this.config.text;
    const { embedDim } = this.config;
    let saved: Feeds | null = { ...residuals };
    for (const name of g.backward.inputNames) {
      const t = feeds[name];
      if (t) saved[name] = t;
    }
    return {
      n,
      length,
      pooled: res.pooled!.data as Float32Array,
      textEmbeds: res.text_embeds!.data as Float32Array,
      backward: async (dPooled, dTextEmbeds) => {
        if (!saved) throw new ShapeError("text tower: backward was already run for this forward pass");
        const upstream = (d: Float32Array | null, cols: number, what: string) => {
          if (d && d.length !== n * cols) throw new ShapeError(`text tower: the gradient of ${what} must be ${n} x ${cols} floats, found ${d.length}`);
          return new ort.Tensor("float32", d ?? new Float32Array(n * cols), [n, cols]);
        };
        const feedsB: Feeds = {
          ...saved,
          [gradName("pooled")]: upstream(dPooled, width, "pooled"),
          [gradName("text_embeds")]: upstream(dTextEmbeds, embedDim, "text_embeds"),
        };
        saved = null;
        const out = await g.backward.run(feedsB);
        g.spare = { n, tensors: residuals };
        let inputEmbeds = out[gradName("input_embeds")]!.data as Float32Array;
        if (length < ctx) {
          // Positions from `length` on never reach an EOT feature: their gradient is zero.
          const full = new Float32Array(n * ctx * width);
          for (let r = 0; r < n; r++) full.set(inputEmbeds.subarray(r * length * width, (r + 1) * length * width), r * ctx * width);
          inputEmbeds = full;
        }
        return { inputEmbeds, deepPrompts: this.spec.deep ? (out[gradName("deep_prompts")]!.data as Float32Array) : null };
      },
    };
  }

  async release(): Promise<void> {
    const graphs = [...this.graphs.values()];
    this.graphs.clear();
    for (const g of graphs) {
      const { forward, backward } = await g;
      await Promise.all([forward.release(), backward.release()]);
    }
  }
}

const towers = new WeakMap<ClipWeights, Map<string, Promise<OrtTextTower>>>();

/** The (cached) differentiable onnxruntime text tower of these weights. */
export function ortTextTower(weights: ClipWeights, config: ClipConfig, spec: TextVjpSpec = {}, opts: OrtSessionOptions = {}): Promise<OrtTextTower> {
  const byKey = towers.get(weights) ?? new Map<string, Promise<OrtTextTower>>();
  towers.set(weights, byKey);
  const key = JSON.stringify([config.activation, spec.deep ?? null, opts.threads ?? null, opts.executionProvider ?? null]);
  let t = byKey.get(key);
  if (!t) {
    t = OrtTextTower.create(weights, config, spec, opts);
    byKey.set(key, t);
    t.catch(() => byKey.delete(key));
  }
  return t;
}

/** Release the onnxruntime text-gradient sessions built for these weights. */
export async function releaseOrtTextTowers(weights: ClipWeights): Promise<void> {
  const byKey = towers.get(weights);
  towers.delete(weights);
  for (const t of byKey?.values() ?? []) await (await t).release();
}

/** `TextTowerTrace` as tfjs tensors, for trainable parts that live on tfjs. */
export interface TextTowerTraceTf {
  /** Sequences through the tower, and the length they ran at. */
  n: number;
  length: number;
  pooled: tf.Tensor2D;
  textEmbeds: tf.Tensor2D;
  backward(dPooled: tf.Tensor | null, dTextEmbeds: tf.Tensor | null): Promise<{ inputEmbeds: tf.Tensor3D; deepPrompts: tf.Tensor3D | null }>;
}

/**
 * The text tower on onnxruntime from tfjs embeddings [n, ctx, width]. The results are plain tensors
 * (not on a tfjs tape): gradients come from `backward`, to be chained with tfjs' own on either side.
 */
export async function textForwardOrt(tower: OrtTextTower, embeds: tf.Tensor, eotIndex: number[], deepPrompts?: tf.Tensor): Promise<TextTowerTraceTf> {
  const { contextLength: ctx, width } = tower.config.text;
  const n = eotIndex.length;
  const trace = await tower.forward({
    embeds: (await embeds.data()) as Float32Array,
    n,
    eotIndex,
    deepPrompts: deepPrompts ? ((await deepPrompts.data()) as Float32Array) : undefined,
  });
  const data = async (t: tf.Tensor | null) => (t ? ((await t.data()) as Float32Array) : null);
  return {
    n,
    length: trace.length,
    pooled: tf.tensor2d(trace.pooled, [n, width]),
    textEmbeds: tf.tensor2d(trace.textEmbeds, [n, tower.config.embedDim]),
    async backward(dPooled, dTextEmbeds) {
      const g = await trace.backward(await data(dPooled), await data(dTextEmbeds));
      const deep = tower.spec.deep;
      return {
        inputEmbeds: tf.tensor3d(g.inputEmbeds, [n, ctx, width]),
        deepPrompts: g.deepPrompts && deep ? tf.tensor3d(g.deepPrompts, [deep.depth, deep.length, width]) : null,
      };
    },
  };
}
