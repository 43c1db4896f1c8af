/**
 * SimCLIP (paper Sec. 3.2): the trainable heads on top of the frozen, cached CLIP features: MHVA
 * (Eq. 2), IPT (Eqs. 4-5), and trainable visual and text projections initialised from CLIP's
 * (`visual.proj`, `text_projection`); everything else stays frozen. Scoring is in `scoring.ts`, the
 * training objective in `objective.ts`; this class owns the parameters and the prompt features.
 */
import { tf, tfReady } from "../../tf.js";
import { ShapeError } from "../../errors.js";
import type { ClipConfig } from "../../clip/config.js";
import type { TextOutput } from "../../clip/model.js";
import { createRng, namedVariable, variableKey } from "../common/init.js";
import { PromptFeatureStore, simclipPrompts } from "../common/prompts.js";
import type { SimClipBackbone } from "../common/backbone.js";
import { transposeArray } from "../common/features.js";
import { CheckpointMismatchError, saveCheckpoint, variableTensors } from "../common/checkpoint.js";
import type {
  AnomalyMethod,
  FeatureBatch,
  GradientResult,
  LossTerm,
  MethodOutput,
  MethodState,
  TrainItem,
  TrainSource,
  TrainableObjective,
} from "../common/types.js";
import { simclipTrainingProtocol, type TrainHistory, type TrainingProtocol, type TrainOptions } from "../common/train-options.js";
import { resolveSimClipConfig, type SimClipConfig, type SimClipDims } from "./config.js";
import { MultiHierarchyVisionAdapter } from "../components/mhva.js";
import { ImplicitPromptTuning } from "./ipt.js";
import { l2NormalizeRows } from "../components/maps.js";
import { ClipPatchProjection, backboneTensor } from "../components/clip-projection.js";
import { scoreSimClip } from "./scoring.js";
import { simclipLossAndGradients, simclipObjective } from "./objective.js";
import { trainLoop } from "../common/train-loop.js";

export const SIMCLIP_METHOD = "simclip";

export function simclipDims(c: ClipConfig): SimClipDims {
  return {
    visionWidth: c.vision.width,
    textWidth: c.text.width,
    embedDim: c.embedDim,
    contextLength: c.text.contextLength,
    patchSize: c.vision.patchSize,
    visionLayers: c.vision.layers,
  };
}

/** Per-class prompt constants on the tfjs side: ln_final output laid out for IPT, and the EOT rows. */
interface PromptTensors {
  xT: tf.Tensor2D; // [n * Wt, 77]
  xEot: tf.Tensor2D; // [n, Wt]
  states: (0 | 1)[];
}

export class SimClip implements AnomalyMethod, TrainableObjective {
  readonly name = SIMCLIP_METHOD;
  readonly config: SimClipConfig;
  readonly dims: SimClipDims;
  readonly grid: number;
  readonly mhva: MultiHierarchyVisionAdapter | null;
  readonly ipt: ImplicitPromptTuning | null;
  readonly visualProjection: tf.Variable; // [W, E]
  readonly textProjection: tf.Variable; // [Wt, E]
  /** MHVA off: CLIP's own frozen ln_post and visual.proj map patch tokens into the joint space. */
  private readonly fixedProjection: ClipPatchProjection | null;
  private readonly prompts: PromptFeatureStore;
  private readonly promptTensors = new Map<string, PromptTensors>();

  private constructor(
    readonly backbone: SimClipBackbone,
    config: Partial<SimClipConfig>,
    seed: number,
  ) {
    this.dims = simclipDims(backbone.config);
    this.config = resolveSimClipConfig(config, this.dims);
    this.grid = this.config.size / this.dims.patchSize;
    const { visionWidth: W, textWidth: Wt, embedDim: E } = this.dims;
    const rng = createRng("simclip-init", seed);
    this.mhva = this.config.mhva ? new MultiHierarchyVisionAdapter(this.config.layers, W, E, rng) : null;
    this.ipt = this.config.ipt
      ? new ImplicitPromptTuning(this.dims.contextLength, Wt, this.config.iptSeedDim, this.config.iptHidden, rng, this.config.iptClamp)
      : null;
    this.visualProjection = namedVariable(backboneTensor(backbone.weights, "visual.proj", [W, E]), "visual_projection");
    this.textProjection = namedVariable(backboneTensor(backbone.weights, "text_projection", [Wt, E]), "text_projection");
    this.fixedProjection = this.config.mhva ? null : new ClipPatchProjection(backbone.weights, W, E);
    const classNames = this.config.classNames;
    this.prompts = new PromptFeatureStore(backbone, (c) => simclipPrompts(c, classNames));
  }

  get size(): number {
    return this.config.size;
  }

  get layers(): number[] {
    return this.config.layers;
  }

  /** A fresh, untrained SimCLIP on `backbone`; `seed` fixes the heads' initialisation (authors: 111). */
  static async create(backbone: SimClipBackbone, config: Partial<SimClipConfig> = {}, seed = 111): Promise<SimClip> {
    await tfReady();
    return new SimClip(backbone, config, seed);
  }

  /**
   * Rebuild from a checkpoint's state; a state made for another backbone or dims is a
   * CheckpointMismatchError. `layers` keeps only some of the checkpoint's hooked layers (their
   * adapters; the prompts and projections are shared by all layers), to look at their maps alone.
   */
  static async fromState(backbone: SimClipBackbone, state: MethodState, where = "checkpoint", layers?: number[]): Promise<SimClip> {
    if (state.method !== SIMCLIP_METHOD) {
      throw new CheckpointMismatchError(where, `it holds method "${state.method}", not "${SIMCLIP_METHOD}"`);
    }
    const saved = state.config as { simclip: SimClipConfig; dims: SimClipDims; backbone: string };
    if (saved.backbone !== backbone.fingerprint) {
      throw new CheckpointMismatchError(
        where,
        `it was trained on the backbone with weights fingerprint ${saved.backbone.slice(0, 16)}..., but the loaded model has ${backbone.fingerprint.slice(0, 16)}...: pass the same --model directory used for training`,
      );
    }
    const dims = simclipDims(backbone.config);
    for (const k of Object.keys(dims) as (keyof SimClipDims)[]) {
      if (saved.dims[k] !== dims[k]) {
        throw new CheckpointMismatchError(where, `its ${k} is ${saved.dims[k]} but the backbone's is ${dims[k]}`);
      }
    }
    const trained = saved.simclip.layers;
    const kept = layers ?? trained;
    const absent = kept.filter((l) => !trained.includes(l));
    if (absent.length > 0) {
      throw new CheckpointMismatchError(
        where,
        `it has adapters for layers ${trained.join(",")}, not for ${absent.join(",")}: choose layers among ${trained.join(",")}`,
      );
    }
    const dropped = new Set(trained.filter((l) => !kept.includes(l)).flatMap((l) => [`mhva.${l}.weight`, `mhva.${l}.bias`]));
    const m = await SimClip.create(backbone, { ...saved.simclip, layers: kept }, 0);
    m.loadTensors(new Map([...state.tensors].filter(([key]) => !dropped.has(key))), where);
    return m;
  }

  trainableVariables(): tf.Variable[] {
    return [...(this.mhva?.variables() ?? []), ...(this.ipt?.variables() ?? []), this.visualProjection, this.textProjection];
  }

  afterStep(): void {
    this.ipt?.project();
  }

  async prepare(categories: string[]): Promise<void> {
    await this.prompts.ensure(categories);
    for (const c of new Set(categories)) {
      if (this.promptTensors.has(c)) continue;
      const p = this.prompts.get(c);
      const n = p.texts.length;
      const { contextLength: L, width: Wt } = p;
      if (L !== this.dims.contextLength || Wt !== this.dims.textWidth) {
        throw new ShapeError(`prompt features of "${c}" are [${n}, ${L}, ${Wt}], expected [${n}, ${this.dims.contextLength}, ${this.dims.textWidth}]`);
      }
      const xT = new Float32Array(n * Wt * L);
      const xEot = new Float32Array(n * Wt);
      for (let i = 0; i < n; i++) {
        const rows = p.lastHidden.subarray(i * L * Wt, (i + 1) * L * Wt);
        xT.set(transposeArray(rows, L, Wt), i * Wt * L);
        xEot.set(rows.subarray(p.eotIndex[i]! * Wt, (p.eotIndex[i]! + 1) * Wt), i * Wt);
      }
      this.promptTensors.set(c, {
        xT: tf.keep(tf.tensor2d(xT, [n * Wt, L])),
        xEot: tf.keep(tf.tensor2d(xEot, [n, Wt])),
        states: p.states,
      });
    }
  }

  /**
   * Normalised prompt embeddings of the given classes: { plain, refined } each [u, 2, E]
   * (normal, anomalous). With several prompts per state each embedding is normalised, the state's mean
   * taken and normalised again (the peers' ensemble rule). Without IPT, refined = plain.
   */
  promptEmbeddings(categories: string[]): { plain: tf.Tensor3D; refined: tf.Tensor3D } {
    return tf.tidy(() => {
      const per = categories.map((c) => {
        const t = this.promptTensors.get(c);
        if (!t) throw new ShapeError(`SimCLIP: prompts of class "${c}" are not prepared: call prepare([...]) first`);
        return t;
      });
      const u = categories.length;
      const total = per.reduce((a, t) => a + t.states.length, 0);
      // mean[k, j] averages the prompts of (class, state) k = 2 * class + state.
      const mean = new Float32Array(2 * u * total);
      let col = 0;
      per.forEach((t, ci) => {
        const counts = [0, 0];
        for (const s of t.states) counts[s]!++;
        for (const s of t.states) mean[(2 * ci + s) * total + col++] = 1 / counts[s]!;
      });
      const meanT = tf.tensor2d(mean, [2 * u, total]);
      const xEot = tf.concat(per.map((t) => t.xEot)) as tf.Tensor2D;
      const group = (emb: tf.Tensor2D) =>
        tf.reshape(l2NormalizeRows(tf.matMul(meanT, l2NormalizeRows(emb) as tf.Tensor2D)), [u, 2, this.dims.embedDim]) as tf.Tensor3D;
      const plain = group(tf.matMul(xEot, this.textProjection));
      if (!this.ipt) return { plain, refined: plain };
      const xT = tf.concat(per.map((t) => t.xT)) as tf.Tensor2D;
      const refined = group(tf.matMul(this.ipt.refine(xT, xEot, this.config.iptEotResidual), this.textProjection));
      return { plain, refined };
    });
  }

  /** Patch tokens of one layer [N, W] -> joint space [N, E]: MHVA (differentiable if xT given) or the fixed projection. */
  /**
   * Text features of prompts from the text tower's output (`ClipModel.encodeText`), [n, E] each, not
   * normalised: `original` is CLIP's embedding (x_eot @ text_projection), `refined` is IPT(x) @ the
   * trained text projection (x_eot @ it without IPT). Paper Figure 5 compares the two.
   */
  textFeatures(text: Pick<TextOutput, "lastHiddenState" | "eotIndex" | "textEmbeds">): { original: Float32Array; refined: Float32Array } {
    const { contextLength: L, textWidth: Wt } = this.dims;
    const n = text.eotIndex.length;
    const xT = new Float32Array(n * Wt * L);
    const xEot = new Float32Array(n * Wt);
    for (let i = 0; i < n; i++) {
      const rows = text.lastHiddenState.subarray(i * L * Wt, (i + 1) * L * Wt);
      xT.set(transposeArray(rows, L, Wt), i * Wt * L);
      xEot.set(rows.subarray(text.eotIndex[i]! * Wt, (text.eotIndex[i]! + 1) * Wt), i * Wt);
    }
    const refined = tf
      .tidy(() => {
        const x = this.ipt ? this.ipt.refine(tf.tensor2d(xT, [n * Wt, L]), tf.tensor2d(xEot, [n, Wt]), this.config.iptEotResidual) : tf.tensor2d(xEot, [n, Wt]);
        return tf.matMul(x, this.textProjection);
      })
      .dataSync() as Float32Array;
    return { original: text.textEmbeds, refined };
  }

  projectPatches(layer: number, x: tf.Tensor2D, xT?: tf.Tensor2D): tf.Tensor2D {
    if (this.mhva) return xT ? this.mhva.apply(layer, x, xT) : this.mhva.forward(layer, x);
    return this.fixedProjection!.apply(x);
  }

  objective(items: TrainItem[]): LossTerm[] {
    return simclipObjective(this, items);
  }

  lossAndGradients(items: TrainItem[]): Promise<GradientResult> {
    return simclipLossAndGradients(this, items);
  }

  trainingProtocol(trainLayout: string): TrainingProtocol {
    return simclipTrainingProtocol(trainLayout);
  }

  async fit(source: TrainSource, opts: TrainOptions = {}): Promise<TrainHistory> {
    await this.prepare(source.categories);
    return trainLoop(this, source, opts, (dir) => saveCheckpoint(dir, this.state(), this.backbone));
  }

  async score(batch: FeatureBatch): Promise<MethodOutput> {
    await this.prepare(batch.categories);
    return scoreSimClip(this, batch);
  }

  state(): MethodState {
    const tensors = variableTensors(this.trainableVariables());
    return {
      method: SIMCLIP_METHOD,
      config: { simclip: this.config, dims: this.dims, backbone: this.backbone.fingerprint },
      tensors,
    };
  }

  private loadTensors(tensors: MethodState["tensors"], where: string): void {
    const vars = this.trainableVariables();
    const expected = new Set(vars.map(variableKey));
    const extra = [...tensors.keys()].filter((k) => !expected.has(k));
    if (extra.length > 0) throw new CheckpointMismatchError(where, `unexpected tensors ${extra.join(", ")} for this SimCLIP config`);
    for (const v of vars) {
      const key = variableKey(v);
      const t = tensors.get(key);
      if (!t) throw new CheckpointMismatchError(where, `tensor "${key}" is missing`);
      if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
        throw new CheckpointMismatchError(where, `tensor "${key}" has shape [${t.shape}], this model needs [${v.shape}]`);
      }
      tf.tidy(() => v.assign(tf.tensor(t.data, v.shape)));
    }
  }

  dispose(): void {
    for (const v of this.trainableVariables()) v.dispose();
    for (const t of this.promptTensors.values()) {
      t.xT.dispose();
      t.xEot.dispose();
    }
    this.promptTensors.clear();
    this.fixedProjection?.dispose();
  }
}
