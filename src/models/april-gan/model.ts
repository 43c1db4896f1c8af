/**
 * APRIL-GAN (Chen et al., VAND 2023; paper Table 1 and the few-shot rows): the frozen CLIP text
 * tower with a WinCLIP-style prompt ensemble, one trainable linear map per hooked layer on the raw
 * patch tokens (the same Linear(W -> E) shape as SimCLIP's MHVA, whose module is reused), trained
 * with focal + dice only (no image loss, no IPT, projections frozen). Test maps: 100 x cos, bilinear
 * upsampling, softmax, summed over layers, no Gaussian smoothing; image score: the text probability
 * from CLIP's own image embedding (docs/baselines-provenance.md "APRIL-GAN"; what still differs from
 * the released code: docs/baselines.md "APRIL-GAN").
 *
 * Few-shot (its test.py): per layer, min over the k normal images' raw patch tokens of (1 - cos)
 * (SimCLIP+'s memory gallery and its nearest-neighbour search are reused), upsampled and summed over
 * layers, added to the zero-shot map; image score 0.5 * (text probability + the class's min-max
 * normalised map maximum), over all test images of the class.
 */
import { tf, tfReady } from "../../tf.js";
import { InvalidArgumentError } from "../../errors.js";
import { createRng } from "../common/init.js";
import { stackLayerTokens, stackPooled } from "../common/features.js";
import { upsampleBilinearArray } from "../common/upsample.js";
import { CheckpointMismatchError, checkCheckpointBackbone, restoreTrainableVariables, saveCheckpoint, variableTensors } from "../common/checkpoint.js";
import { trainLoop } from "../common/train-loop.js";
import { scoreInChunks } from "../common/chunked-scoring.js";
import type { TrainHistory, TrainingProtocol, TrainOptions } from "../common/train-options.js";
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
import { MemoryGallery } from "../components/memory-gallery.js";
import { combineImageScores, mapMaximum } from "../components/image-score.js";
import { FrozenPromptEmbeddings } from "../components/frozen-prompts.js";
import { ClipPatchProjection } from "../components/clip-projection.js";
import { summedPromptMaps, textAnomalyProbability } from "../components/prompt-maps.js";
import { quarterLayers, resolveGeometry } from "../components/geometry.js";
import { aprilGanPrompts } from "./prompts.js";
import { aprilGanLossAndGradients, aprilGanObjective } from "./objective.js";

export const APRIL_GAN_METHOD = "april-gan";

/** The fixed scale of its logits (test.py and train.py multiply by 100, not by CLIP's logit_scale). */
export const APRIL_GAN_LOGIT_SCALE = 100;

/**
 * The released train.sh: batch 8, Adam lr 1e-3 (train.py's default) with betas (0.5, 0.999), no
 * schedule, seed 111; on MVTec AD 3 epochs with mosaic rate 0.2, on VisA 15 epochs without mosaic
 * (its VisaDataset has none). Another layout trains as VisA does: the mosaic is MVTecDataset's alone.
 */
export function aprilGanTrainingProtocol(trainLayout: string): TrainingProtocol {
  const mvtec = trainLayout === "mvtec";
  return { epochs: mvtec ? 3 : 15, batchSize: 8, lr: 1e-3, betas: [0.5, 0.999], schedule: "constant", seed: 111, mosaicRate: mvtec ? 0.2 : 0 };
}

export interface AprilGanConfig {
  size: number;
  /** Hooked blocks with adapters (peers: 6, 12, 18, 24 of ViT-L/14). */
  layers: number[];
  logitScale: number;
}

export class AprilGan implements AnomalyMethod, TrainableObjective {
  readonly name = APRIL_GAN_METHOD;
  readonly config: AprilGanConfig;
  readonly grid: number;
  readonly adapters: MultiHierarchyVisionAdapter;
  readonly prompts: FrozenPromptEmbeddings;
  private readonly projection: ClipPatchProjection;
  private readonly memories = new Map<string, MemoryGallery>();

  private constructor(
    readonly backbone: SimClipBackbone,
    config: Partial<AprilGanConfig>,
    seed: number,
  ) {
    const c = backbone.config;
    const g = resolveGeometry("APRIL-GAN", c, config.size, config.layers, quarterLayers(c));
    this.config = { size: g.size, layers: g.layers, logitScale: config.logitScale ?? APRIL_GAN_LOGIT_SCALE };
    this.grid = g.grid;
    this.adapters = new MultiHierarchyVisionAdapter(g.layers, c.vision.width, c.embedDim, createRng("april-gan-init", seed));
    this.prompts = new FrozenPromptEmbeddings(backbone, aprilGanPrompts, c.embedDim);
    this.projection = new ClipPatchProjection(backbone.weights, c.vision.width, c.embedDim);
  }

  static async create(backbone: SimClipBackbone, config: Partial<AprilGanConfig> = {}, seed = 111): Promise<AprilGan> {
    await tfReady();
    return new AprilGan(backbone, config, seed);
  }

  static async fromState(backbone: SimClipBackbone, state: MethodState, where = "checkpoint"): Promise<AprilGan> {
    if (state.method !== APRIL_GAN_METHOD) throw new CheckpointMismatchError(where, `it holds method "${state.method}", not "${APRIL_GAN_METHOD}"`);
    const saved = state.config as { aprilGan: AprilGanConfig; backbone: string };
    checkCheckpointBackbone(saved.backbone, backbone.fingerprint, where);
    const m = await AprilGan.create(backbone, saved.aprilGan, 0);
    restoreTrainableVariables(m, state.tensors, where);
    return m;
  }

  get size(): number {
    return this.config.size;
  }

  get layers(): number[] {
    return this.config.layers;
  }

  trainableVariables(): tf.Variable[] {
    return this.adapters.variables();
  }

  async prepare(categories: string[]): Promise<void> {
    await this.prompts.ensure(categories);
  }

  objective(items: TrainItem[]): LossTerm[] {
    return aprilGanObjective(this, items);
  }

  lossAndGradients(items: TrainItem[]): Promise<GradientResult> {
    return aprilGanLossAndGradients(this, items);
  }

  trainingProtocol(trainLayout: string): TrainingProtocol {
    return aprilGanTrainingProtocol(trainLayout);
  }

  /** Unset options take the released recipe's (the epochs and mosaic depend on the training set: `trainingProtocol`). */
  async fit(source: TrainSource, opts: TrainOptions = {}): Promise<TrainHistory> {
    await this.prepare(source.categories);
    const { batchSize, lr, betas, schedule, seed } = aprilGanTrainingProtocol("");
    const o: TrainOptions = { batchSize, lr, betas, schedule, seed, label: "train april-gan", ...opts };
    return trainLoop(this, source, o, (dir) => saveCheckpoint(dir, this.state(), this.backbone));
  }

  async setMemory(category: string, normals: ImageFeatures[]): Promise<void> {
    this.memories.set(category, MemoryGallery.build(normals, this.layers));
  }

  async score(batch: FeatureBatch): Promise<MethodOutput> {
    await this.prepare(batch.categories);
    const E = this.backbone.config.embedDim;
    // APRIL-GAN does not smooth its maps (sigma 0); the few-shot map is added per image afterwards.
    const out = await scoreInChunks(batch, this.size, 0, async (features, cats) => {
      const n = features.length;
      const { diff, pairs } = this.prompts.perImage(cats);
      const probT = tf.tidy(() =>
        textAnomalyProbability(this.projection.imageEmbeds(stackPooled(features)), tf.tensor3d(pairs, [n, 2, E]), this.config.logitScale),
      );
      const prob = (await probT.data()) as Float32Array;
      probT.dispose();
      const diffT = tf.tensor2d(diff, [n, E]);
      try {
        const sum = await summedPromptMaps(features, diffT, { ...this.config, grid: this.grid }, async (layer, x, rows, w) =>
          tf.tidy(() => this.adapters.forward(layer, tf.tensor2d(x, [rows, w]))),
        );
        return { sum, prob };
      } finally {
        diffT.dispose();
      }
    });
    for (let i = 0; i < out.maps.length; i++) {
      const category = batch.categories[i]!;
      if (!this.memories.has(category)) continue;
      const map = out.maps[i]!;
      const fewShot = await this.fewShotMap(category, batch.features[i]!);
      for (let p = 0; p < map.length; p++) map[p]! += fewShot[p]!;
    }
    return out;
  }

  /** Sum over layers of upsample(min over memory of (1 - cos)): APRIL-GAN's `anomaly_map_few_shot`. */
  async fewShotMap(category: string, f: ImageFeatures): Promise<Float32Array> {
    const memory = this.memories.get(category);
    if (!memory) throw new InvalidArgumentError(`APRIL-GAN: no few-shot memory for class "${category}": call setMemory first`);
    const S = this.size;
    const P = this.grid * this.grid;
    const out = new Float32Array(S * S);
    for (const layer of this.layers) {
      const { maxCos } = await memory.search(layer, stackLayerTokens([f], layer), P);
      const up = upsampleBilinearArray(
        maxCos.map((c) => 1 - c),
        this.grid,
        S,
        true,
      );
      for (let p = 0; p < out.length; p++) out[p]! += up[p]!;
    }
    return out;
  }

  finalizeCategory(category: string, outputs: MethodOutput): MethodOutput {
    if (!this.memories.has(category)) return outputs;
    return { ...outputs, scores: combineImageScores(outputs.scores, Float32Array.from(outputs.maps, mapMaximum)) };
  }

  state(): MethodState {
    const tensors = variableTensors(this.trainableVariables());
    return { method: APRIL_GAN_METHOD, config: { aprilGan: this.config, backbone: this.backbone.fingerprint }, tensors };
  }

  dispose(): void {
    this.adapters.dispose();
    this.projection.dispose();
  }
}
