/**
 * CoOp / CoCoOp in the SimCLIP framework (paper Table 4: "replacing the implicit prompt tuning with
 * other SOTA prompt learning methods") and AnomalyCLIP (Table 1), as one model whose prompts are
 * learned at the text tower's INPUT. Training and scoring run the text tower on onnxruntime, its
 * gradient included (`clip/text-vjp.ts`); the trainable parts around it stay on tfjs, and the tfjs
 * text tower (`clip/tfjs-forward.ts`) is the reference route of `objective`. The vision side and
 * the scoring are SimCLIP's (MHVA, trainable projections, 100 x cos maps, Gaussian sigma 7) for
 * CoOp/CoCoOp, and CLIP's own frozen patch projection for AnomalyCLIP; see `config.ts` for the
 * presets and `objective.ts` for the losses.
 *
 * AnomalyCLIP as released: its features come from the DPAM variant of the vision tower
 * (`featureSource`, a cache entry of its own), its deep text tokens enter rounded to float16, and its
 * maps take the softmax on the grid (`config.ts`); docs/baselines.md lists what still differs.
 */
import { tf, tfReady } from "../../tf.js";
import { InvalidArgumentError, ShapeError } from "../../errors.js";
import { textForwardTf } from "../../clip/tfjs-forward.js";
import { ortTextTower, textForwardOrt, type OrtTextTower, type TextTowerTraceTf } from "../../clip/text-vjp.js";
import type { TextVjpSpec } from "../../clip/onnx/clip-graphs.js";
import { createRng, namedVariable } from "../common/init.js";
import { promptClassName } from "../common/prompts.js";
import { selectRows, stackPooled } from "../common/features.js";
import { scoreInChunks } from "../common/chunked-scoring.js";
import { CheckpointMismatchError, checkCheckpointBackbone, restoreTrainableVariables, saveCheckpoint, variableTensors } from "../common/checkpoint.js";
import { trainLoop } from "../common/train-loop.js";
import type { TrainHistory, TrainOptions } from "../common/train-options.js";
import type {
  AnomalyMethod,
  FeatureBatch,
  GradientResult,
  ImageFeatures,
  LossTerm,
  MethodOutput,
  MethodState,
  TrainItem,
  TrainSource,
  TrainableObjective,
} from "../common/types.js";
import type { SimClipBackbone } from "../common/backbone.js";
import { MultiHierarchyVisionAdapter } from "../components/mhva.js";
import { l2NormalizeRows } from "../components/maps.js";
import { ClipPatchProjection, backboneTensor } from "../components/clip-projection.js";
import { summedPromptMaps, textAnomalyProbability } from "../components/prompt-maps.js";
import { CoCoOpMetaNet } from "../components/meta-net.js";
import { resolvePromptLearnerConfig, type PromptLearnerConfig, type PromptLearnerVariant } from "./config.js";
import { LearnableContext, placeholderPrefix, templatePair, wordContext, type PromptTemplatePair, type PromptTokenizer } from "./context.js";
import { promptLearnerLossAndGradients, promptLearnerTerms } from "./objective.js";
import { ClipModel } from "../../clip/model.js";
import { dpamBlocksOf } from "../../clip/architecture.js";
import { float16ToFloat32, float32ToFloat16 } from "../../clip/float16.js";
import { clipFeatureSource, type FeatureSourceInfo } from "../../cache/index.js";
import { simclipTrainingProtocol, type TrainingProtocol } from "../common/train-options.js";

function roundedToHalf(x: Float32Array): Float32Array {
  return x.map((v) => float16ToFloat32(float32ToFloat16(v)));
}

/**
 * AnomalyCLIP's `.half()` on a tfjs tape: the value rounded to float16, the gradient passed through
 * unrounded (the onnxruntime route, what training runs, rounds it as torch does: `halfPromptTrace`).
 */
const halfOnTape = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = inputs[0] as tf.Tensor;
  return { value: tf.tensor(roundedToHalf(x.dataSync() as Float32Array), x.shape), gradFunc: (dy: tf.Tensor) => [dy] };
});

/**
 * `textForwardOrt` one sequence at a time, for deep prompts that enter as float16: the released code
 * expands each deep prompt to every sequence and then casts it (`.half()`), so autograd rounds each
 * sequence's gradient to float16 before summing them; one sequence per trace gives those gradients.
 */
async function halfPromptTrace(tower: OrtTextTower, embeds: tf.Tensor3D, eot: number[], deep: tf.Tensor): Promise<TextTowerTraceTf> {
  const traces: TextTowerTraceTf[] = [];
  for (let i = 0; i < eot.length; i++) {
    const one = tf.slice(embeds, [i, 0, 0], [1, -1, -1]);
    traces.push(await textForwardOrt(tower, one, [eot[i]!], deep));
    one.dispose();
  }
  const rowOf = (t: tf.Tensor | null, i: number) => (t ? tf.slice(t, [i, 0], [1, -1]) : null);
  return {
    n: eot.length,
    length: traces[0]!.length,
    pooled: tf.concat(traces.map((t) => t.pooled)) as tf.Tensor2D,
    textEmbeds: tf.concat(traces.map((t) => t.textEmbeds)) as tf.Tensor2D,
    async backward(dPooled, dTextEmbeds) {
      const inputs: tf.Tensor3D[] = [];
      let deepGrad: tf.Tensor3D | null = null;
      for (const [i, t] of traces.entries()) {
        const [p, e] = [rowOf(dPooled, i), rowOf(dTextEmbeds, i)];
        const g = await t.backward(p, e);
        tf.dispose([...(p ? [p] : []), ...(e ? [e] : [])]);
        inputs.push(g.inputEmbeds);
        const rounded = tf.tensor(roundedToHalf((await g.deepPrompts!.data()) as Float32Array), g.deepPrompts!.shape) as tf.Tensor3D;
        g.deepPrompts!.dispose();
        const next: tf.Tensor3D = deepGrad ? tf.add(deepGrad, rounded) : rounded;
        if (deepGrad) tf.dispose([deepGrad, rounded]);
        deepGrad = next;
      }
      const inputEmbeds = tf.concat(inputs) as tf.Tensor3D;
      tf.dispose(inputs);
      return { inputEmbeds, deepPrompts: deepGrad };
    },
  };
}

/** The released train.sh: 15 epochs, batch 8, Adam 1e-3 with betas (0.5, 0.999), no schedule, seed 111, no augmentation. */
export const ANOMALYCLIP_TRAINING: TrainingProtocol = {
  epochs: 15,
  batchSize: 8,
  lr: 1e-3,
  betas: [0.5, 0.999],
  schedule: "constant",
  seed: 111,
  mosaicRate: 0,
};

/** What the prompt learners need beyond SimCLIP's backbone: the tokenizer (ClipModel has it). */
export interface PromptLearnerBackbone extends SimClipBackbone {
  readonly tokenizer: PromptTokenizer;
  /** The differentiable onnxruntime text tower with the backbone's session options (ClipModel has it). */
  textTower?(spec: TextVjpSpec): Promise<OrtTextTower>;
}

export function isPromptLearnerBackbone(b: SimClipBackbone): b is PromptLearnerBackbone {
  return typeof (b as Partial<PromptLearnerBackbone>).tokenizer?.tokenize === "function";
}

const AGNOSTIC = "*";

/** Prompt pairs of a training batch, and the pullback of a gradient on them to the trainable variables. */
export interface PromptPairsTrace {
  /** [n, 2, E], normalised. */
  pairs: tf.Tensor3D;
  /** How many sequences went through the text tower, and at what length (`OrtTextTower.sequenceLength`). */
  sequences: number;
  length: number;
  /** dL/dpairs -> dL/dv for every variable the pairs depend on; once. */
  pullback(dPairs: tf.Tensor3D): Promise<Map<tf.Variable, tf.Tensor>>;
  dispose(): void;
}

export class PromptLearnerClip implements AnomalyMethod, TrainableObjective {
  readonly config: PromptLearnerConfig;
  readonly grid: number;
  readonly context: LearnableContext;
  readonly metaNet: CoCoOpMetaNet | null;
  readonly mhva: MultiHierarchyVisionAdapter | null;
  readonly visualProjection: tf.Variable | null;
  readonly textProjection: tf.Variable | null;
  /** [depth, length, Wt] tokens inside the text tower, when `config.deepTextPrompts` asks for them. */
  readonly deepPrompts: tf.Variable | null;
  readonly projection: ClipPatchProjection;
  private readonly templates = new Map<string, PromptTemplatePair>();

  private constructor(
    readonly backbone: PromptLearnerBackbone,
    variant: PromptLearnerVariant,
    partial: Partial<PromptLearnerConfig>,
    seed: number,
  ) {
    const c = backbone.config;
    this.config = resolvePromptLearnerConfig(variant, partial, c);
    this.grid = this.config.size / c.vision.patchSize;
    const rng = createRng(`${variant}-init`, seed);
    const words = this.config.contextInit;
    const init = words === undefined ? undefined : wordContext(backbone.weights, c, backbone.tokenizer, words, this.config.contextLength);
    this.context = new LearnableContext(this.config.sharedContext ? 1 : 2, this.config.contextLength, c.text.width, this.config.contextStd, rng, init);
    this.metaNet = this.config.metaNet ? new CoCoOpMetaNet(c.embedDim, c.text.width, rng) : null;
    const adapter = this.config.patches === "adapter";
    this.mhva = adapter ? new MultiHierarchyVisionAdapter(this.config.layers, c.vision.width, c.embedDim, rng) : null;
    this.visualProjection = adapter ? namedVariable(backboneTensor(backbone.weights, "visual.proj", [c.vision.width, c.embedDim]), "visual_projection") : null;
    this.textProjection = adapter ? namedVariable(backboneTensor(backbone.weights, "text_projection", [c.text.width, c.embedDim]), "text_projection") : null;
    this.projection = new ClipPatchProjection(backbone.weights, c.vision.width, c.embedDim);
    // Drawn last, so every other variable's initial value is the same with or without them.
    const deep = this.config.deepTextPrompts;
    this.deepPrompts = deep
      ? namedVariable(
          tf.tensor3d(
            Float32Array.from({ length: deep.depth * deep.length * c.text.width }, () => rng.normal() * this.config.contextStd),
            [deep.depth, deep.length, c.text.width],
          ),
          "deep_text_prompts",
        )
      : null;
  }

  static async create(
    backbone: SimClipBackbone,
    variant: PromptLearnerVariant,
    config: Partial<PromptLearnerConfig> = {},
    seed = 111,
  ): Promise<PromptLearnerClip> {
    if (!isPromptLearnerBackbone(backbone)) {
      throw new InvalidArgumentError(
        `${variant} learns prompts at the text tower's input and needs the backbone's tokenizer: pass a ClipModel (ClipModel.load(dir))`,
      );
    }
    await tfReady();
    return new PromptLearnerClip(backbone, variant, config, seed);
  }

  static async fromState(backbone: SimClipBackbone, state: MethodState, where = "checkpoint"): Promise<PromptLearnerClip> {
    const saved = state.config as { promptLearner: PromptLearnerConfig; backbone: string };
    if (!saved.promptLearner) throw new CheckpointMismatchError(where, `it holds method "${state.method}", not a prompt learner (coop, cocoop, anomalyclip)`);
    checkCheckpointBackbone(saved.backbone, backbone.fingerprint, where);
    const m = await PromptLearnerClip.create(backbone, saved.promptLearner.variant, saved.promptLearner, 0);
    restoreTrainableVariables(m, state.tensors, where);
    return m;
  }

  get name(): string {
    return this.config.variant;
  }

  get size(): number {
    return this.config.size;
  }

  get layers(): number[] {
    return this.config.layers;
  }

  trainableVariables(): tf.Variable[] {
    return [
      this.context.vectors,
      ...(this.metaNet?.variables() ?? []),
      ...(this.mhva?.variables() ?? []),
      ...(this.visualProjection ? [this.visualProjection] : []),
      ...(this.textProjection ? [this.textProjection] : []),
      ...(this.deepPrompts ? [this.deepPrompts] : []),
    ];
  }

  /** The variables the text tower's input embeddings depend on (for CoCoOp, through the image embedding too). */
  private embedVariables(): tf.Variable[] {
    return [this.context.vectors, ...(this.metaNet?.variables() ?? []), ...(this.metaNet && this.visualProjection ? [this.visualProjection] : [])];
  }

  private templateKey(category: string): string {
    return this.config.objectAgnostic ? AGNOSTIC : category;
  }

  async prepare(categories: string[]): Promise<void> {
    const x = placeholderPrefix(this.config.contextLength);
    for (const c of new Set(categories.map((k) => this.templateKey(k)))) {
      if (this.templates.has(c)) continue;
      // SimCLIP's binary prompts with "a photo of a" replaced by the context; AnomalyCLIP's
      // object-agnostic "[X]x12 object." / "[X]x12 damaged object.".
      const texts: [string, string] =
        c === AGNOSTIC ? [`${x} object.`, `${x} damaged object.`] : [`${x} ${promptClassName(c)} without defect.`, `${x} ${promptClassName(c)} with defect.`];
      this.templates.set(c, templatePair(this.backbone.weights, this.backbone.config, this.backbone.tokenizer, texts, this.config.contextLength));
    }
  }

  /** Normalised global image features [n, E]: ln_post'd class token @ (trainable or CLIP's) visual projection. */
  imageEmbeddings(features: ImageFeatures[]): tf.Tensor2D {
    return tf.tidy(() => {
      const pooled = stackPooled(features);
      return l2NormalizeRows(this.visualProjection ? tf.matMul(pooled, this.visualProjection) : this.projection.imageEmbeds(pooled)) as tf.Tensor2D;
    });
  }

  /** The onnxruntime text tower with gradients, shared by every model on this backbone. */
  private textTower(): Promise<OrtTextTower> {
    const spec: TextVjpSpec = this.config.deepTextPrompts ? { deep: this.config.deepTextPrompts } : {};
    return this.backbone.textTower?.(spec) ?? ortTextTower(this.backbone.weights, this.backbone.config, spec);
  }

  /**
   * The text tower's inputs for `categories`: [m, 77, Wt] prompt embeddings with the context spliced
   * in, and how the m = 2k text features make the [n, 2, E] pairs. CoOp/AnomalyCLIP: one prompt pair
   * per distinct class (`pick` maps images to pairs); CoCoOp: one per image, its context shifted by
   * the meta-net's token of that image's feature `imageEmbN` [n, E], all n pairs in one batch.
   */
  private promptInputs(categories: string[], imageEmbN?: tf.Tensor2D): { embeds: tf.Tensor3D; eot: number[]; pick: number[] | null } {
    const tpl = (c: string) => {
      const t = this.templates.get(this.templateKey(c));
      if (!t) throw new ShapeError(`${this.name}: prompts of class "${c}" are not prepared: call prepare([...]) first`);
      return t;
    };
    if (this.metaNet) {
      if (!imageEmbN) throw new ShapeError("CoCoOp: prompt features are conditioned on the image; pass the image embeddings");
      const embeds = tf.tidy(() => this.context.spliceShifted(categories.map(tpl), this.metaNet!.apply(imageEmbN)));
      return { embeds, eot: categories.flatMap((c) => tpl(c).eotIndex), pick: null };
    }
    const unique = [...new Set(categories.map((c) => this.templateKey(c)))];
    const embeds = tf.tidy(() => {
      const ctx = this.context.pair();
      return tf.concat(unique.map((k) => this.context.splice(tpl(k), ctx))) as tf.Tensor3D;
    });
    return { embeds, eot: unique.flatMap((k) => tpl(k).eotIndex), pick: categories.map((c) => unique.indexOf(this.templateKey(c))) };
  }

  /**
   * Normalised prompt pairs [n, 2, E] from the text tower's outputs for `promptInputs`: the EOT feature
   * @ the trainable text projection, or CLIP's own text embedding.
   */
  private pairsFromText(pooled: tf.Tensor, textEmbeds: tf.Tensor, pick: number[] | null): tf.Tensor3D {
    return tf.tidy(() => {
      const feats = l2NormalizeRows((this.textProjection ? tf.matMul(pooled, this.textProjection) : textEmbeds) as tf.Tensor2D);
      const pairs = tf.reshape(feats, [-1, 2, this.backbone.config.embedDim]) as tf.Tensor3D;
      return pick ? (selectRows(pairs, pick) as tf.Tensor3D) : pairs;
    });
  }

  /**
   * Normalised (normal, anomalous) prompt features per image [n, 2, E] through the differentiable
   * tfjs text tower: the reference route of `objective`. Training and scoring run the text tower on
   * onnxruntime (`tracePromptPairs`, `promptPairsOrt`).
   */
  promptPairs(categories: string[], imageEmbN?: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const { embeds, eot, pick } = this.promptInputs(categories, imageEmbN);
      const deep = this.deepPrompts && this.config.deepPromptsHalf ? (halfOnTape(this.deepPrompts) as tf.Tensor) : this.deepPrompts;
      const out = textForwardTf(this.backbone.weights, this.backbone.config, embeds, eot, deep ?? undefined);
      return this.pairsFromText(out.pooled, out.textEmbeds, pick);
    });
  }

  /** `promptPairs` with the text tower on onnxruntime (no gradients). */
  async promptPairsOrt(categories: string[], imageEmbN?: tf.Tensor2D): Promise<tf.Tensor3D> {
    const { embeds, eot, pick } = this.promptInputs(categories, imageEmbN);
    const tower = await this.textTower();
    const deepPrompts = await this.deepPromptValues();
    const out = await tower.run({ embeds: (await embeds.data()) as Float32Array, n: eot.length, eotIndex: eot, deepPrompts });
    embeds.dispose();
    const { config } = this.backbone;
    return tf.tidy(() =>
      this.pairsFromText(tf.tensor2d(out.pooled, [eot.length, config.text.width]), tf.tensor2d(out.textEmbeds, [eot.length, config.embedDim]), pick),
    );
  }

  /** The deep prompts as the text tower takes them (rounded to float16 where the config says so). */
  private async deepPromptValues(): Promise<Float32Array | undefined> {
    if (!this.deepPrompts) return undefined;
    const v = (await this.deepPrompts.data()) as Float32Array;
    return this.config.deepPromptsHalf ? roundedToHalf(v) : v;
  }

  /**
   * `promptPairs` of a training batch with its pullback, dL/dP [n, 2, E] -> gradients of the variables
   * P depends on. The text tower runs forward here and backward (its VJP) in `pullback`, both on
   * onnxruntime; the splice (and CoCoOp's meta-net) before it and the projection after it are
   * differentiated on tfjs, each on its own short tape.
   */
  async tracePromptPairs(categories: string[], features: ImageFeatures[]): Promise<PromptPairsTrace> {
    const build = () => this.promptInputs(categories, this.metaNet ? this.imageEmbeddings(features) : undefined);
    const img = this.metaNet ? this.imageEmbeddings(features) : undefined;
    const { embeds, eot, pick } = this.promptInputs(categories, img);
    img?.dispose();
    const deepValues = await this.deepPromptValues();
    const deepInput = deepValues && tf.tensor(deepValues, this.deepPrompts!.shape);
    const tower = await this.textTower();
    const trace = this.config.deepPromptsHalf ? await halfPromptTrace(tower, embeds, eot, deepInput!) : await textForwardOrt(tower, embeds, eot, deepInput);
    deepInput?.dispose();
    embeds.dispose();
    const pooled = namedVariable(trace.pooled, "text-pooled");
    const textEmbeds = namedVariable(trace.textEmbeds, "text-embeds");
    const leaves = [pooled, textEmbeds];
    const pairs = this.pairsFromText(pooled, textEmbeds, pick);
    return {
      pairs,
      sequences: trace.n,
      length: trace.length,
      pullback: async (dP) => {
        const grads = new Map<tf.Variable, tf.Tensor>();
        const head = tf.variableGrads(
          () => tf.sum(tf.mul(this.pairsFromText(pooled, textEmbeds, pick), dP)) as tf.Scalar,
          [...(this.textProjection ? [this.textProjection] : []), ...leaves],
        );
        const [dPooled, dTextEmbeds] = leaves.map((v) => head.grads[v.name] ?? null) as [tf.Tensor | null, tf.Tensor | null];
        const back = await trace.backward(dPooled, dTextEmbeds);
        tf.dispose([head.value, ...(dPooled ? [dPooled] : []), ...(dTextEmbeds ? [dTextEmbeds] : [])]);
        if (this.textProjection) grads.set(this.textProjection, head.grads[this.textProjection.name]!);
        if (this.deepPrompts) grads.set(this.deepPrompts, back.deepPrompts!);
        const before = this.embedVariables();
        const pre = tf.variableGrads(() => tf.sum(tf.mul(build().embeds, back.inputEmbeds)) as tf.Scalar, before);
        tf.dispose([back.inputEmbeds, pre.value]);
        for (const v of before) if (pre.grads[v.name]) grads.set(v, pre.grads[v.name]!);
        return grads;
      },
      dispose: () => tf.dispose([pairs, ...leaves]),
    };
  }

  /** Joint-space patch features [N, E] of one layer: MHVA (differentiable when xT is given) or CLIP's frozen ln_post + proj. */
  patchFeatures(layer: number, x: tf.Tensor2D, xT?: tf.Tensor2D): tf.Tensor2D {
    if (!this.mhva) return this.projection.apply(x);
    return xT ? this.mhva.apply(layer, x, xT) : this.mhva.forward(layer, x);
  }

  objective(items: TrainItem[]): LossTerm[] {
    return promptLearnerTerms(this, items);
  }

  lossAndGradients(items: TrainItem[]): Promise<GradientResult> {
    return promptLearnerLossAndGradients(this, items);
  }

  /** AnomalyCLIP's released recipe; CoOp/CoCoOp train in SimCLIP's framework and with its recipe. */
  trainingProtocol(trainLayout: string): TrainingProtocol {
    return this.config.variant === "anomalyclip" ? ANOMALYCLIP_TRAINING : simclipTrainingProtocol(trainLayout);
  }

  /**
   * With DPAM (`config.dpamLayer`), the features of its variant of the vision tower, cached apart
   * from CLIP's own; without it, none of its own (the shared CLIP features).
   */
  featureSource(): FeatureSourceInfo | undefined {
    if (this.config.dpamLayer === undefined) return undefined;
    if (!(this.backbone instanceof ClipModel)) {
      throw new InvalidArgumentError(`${this.name} with DPAM runs its own variant of the vision tower and needs a ClipModel backbone (ClipModel.load(dir))`);
    }
    return clipFeatureSource(this.backbone, {
      size: this.size,
      layers: this.layers,
      dpam: { blocks: dpamBlocksOf(this.backbone.config, this.config.dpamLayer) },
    });
  }

  async fit(source: TrainSource, opts: TrainOptions = {}): Promise<TrainHistory> {
    await this.prepare(source.categories);
    const o: TrainOptions =
      this.config.variant === "anomalyclip" ? { batchSize: ANOMALYCLIP_TRAINING.batchSize, schedule: ANOMALYCLIP_TRAINING.schedule, ...opts } : opts;
    return trainLoop(this, source, { label: `train ${this.name}`, ...o }, (dir) => saveCheckpoint(dir, this.state(), this.backbone));
  }

  async score(batch: FeatureBatch): Promise<MethodOutput> {
    await this.prepare(batch.categories);
    return scoreInChunks(batch, this.size, this.config.sigma, async (features, cats) => {
      const img = this.imageEmbeddings(features);
      const pairs = await this.promptPairsOrt(cats, img);
      const { prob, diff } = tf.tidy(() => {
        const [t0, t1] = tf.unstack(pairs, 1) as [tf.Tensor2D, tf.Tensor2D];
        return { prob: textAnomalyProbability(img, pairs, this.config.logitScale), diff: tf.sub(t1, t0) as tf.Tensor2D };
      });
      tf.dispose([img, pairs]);
      try {
        const probs = (await prob.data()) as Float32Array;
        const sum = await summedPromptMaps(features, diff, { ...this.config, grid: this.grid }, async (layer, x, rows, w) =>
          tf.tidy(() => this.patchFeatures(layer, tf.tensor2d(x, [rows, w]))),
        );
        return { sum, prob: probs };
      } finally {
        tf.dispose([prob, diff]);
      }
    });
  }

  state(): MethodState {
    const tensors = variableTensors(this.trainableVariables());
    return { method: this.name, config: { promptLearner: this.config, backbone: this.backbone.fingerprint }, tensors };
  }

  dispose(): void {
    for (const v of this.trainableVariables()) v.dispose();
    for (const t of this.templates.values()) t.embeds.dispose();
    this.templates.clear();
    this.projection.dispose();
  }
}
