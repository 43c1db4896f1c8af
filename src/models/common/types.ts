/**
 * The shape every anomaly-detection method in simclip has (SimCLIP, SimCLIP+, APRIL-GAN, AnomalyCLIP,
 * CLIP-AC, CoOp/CoCoOp, PatchCore), modelled on anomalib: a method is its modules + a scoring function
 * (features -> maps and image scores) + optionally a training objective and a few-shot memory + a
 * config that is saved with its checkpoint. The shared training loop (`train-loop.ts`), evaluation
 * runner (`evaluate.ts`), checkpoint io (`checkpoint.ts`) and the CLI only ever talk to this interface.
 *
 * The frozen/trainable boundary is the feature cache: methods consume `ImageFeatures` (per hooked
 * layer the raw patch tokens [P, W], class token dropped, plus the ln_post'd class token [W]) and never
 * run the vision backbone themselves.
 */
import type { tf } from "../../tf.js";
import type { FeatureSourceInfo, ImageFeatures } from "../../cache/source.js";
import type { TrainHistory, TrainingProtocol, TrainOptions } from "./train-options.js";

export type { ImageFeatures };

/** A batch of cached features to score; `categories[i]` is image i's class name (e.g. "metal_nut"). */
export interface FeatureBatch {
  features: ImageFeatures[];
  categories: string[];
  /** Also return each hooked layer's map (`MethodOutput.layerMaps`) where the method has them. */
  layerMaps?: boolean;
}

/** What `score` returns: one anomaly map per image (row-major [size*size]) and one image score. */
export interface MethodOutput {
  size: number;
  maps: Float32Array[];
  scores: Float32Array;
  /**
   * When the batch asked for them and the method has them: per image, each hooked layer's map
   * ([size*size], in `layers` order, smoothed like `maps`). SimCLIP: its layers' maps sum to `maps`
   * (up to float rounding); SimCLIP+: SimCLIP's zero-shot layer maps under its few-shot map.
   */
  layerMaps?: Float32Array[][];
}

/** One training example: cached features, its class, its label and its mask at the map size. */
export interface TrainItem {
  features: ImageFeatures;
  category: string;
  label: 0 | 1;
  /** [size*size] of 0/1 (src/clip loadMask); an all-zero mask for normal images. */
  mask: Uint8Array;
}

/** Random access to training items; the loop shuffles indices and fetches batches lazily (the cache streams from disk). */
export interface TrainSource {
  readonly length: number;
  /** Class names appearing in the source (methods encode their prompts for these once). */
  readonly categories: string[];
  get(index: number): Promise<TrainItem>;
  /**
   * Called by the training loop before each epoch with the training seed, for per-epoch random data
   * (the mosaic augmentation of `train-data.ts`), like PyTorch's `sampler.set_epoch`.
   */
  beginEpoch?(epoch: number, seed: number): Promise<void>;
}

/** A method's learned state: named float32 tensors + a JSON config; what a checkpoint stores. */
export interface MethodState {
  method: string;
  config: Record<string, unknown>;
  tensors: Map<string, { data: Float32Array; shape: number[] }>;
}

/**
 * One additive part of a training objective, differentiated on its own tape; the loop sums the parts'
 * gradients. Splitting per hooked layer keeps only one layer's activations alive at a time (at
 * ViT-L/14 shapes a batch of 16 is 90 MB of frozen tokens per layer before any intermediate).
 */
export type LossTerm = () => { loss: tf.Scalar; parts: Record<string, tf.Scalar> };

/** A batch's loss, its named parts and the gradient of every trainable tensor it reaches (caller disposes). */
export interface GradientResult {
  loss: number;
  parts: Record<string, number>;
  grads: Map<tf.Variable, tf.Tensor>;
}

/** What the shared training loop needs from a trainable method. */
export interface TrainableObjective {
  trainableVariables(): tf.Variable[];
  /** The loss of a batch as a sum of terms; each term builds its part from tfjs ops on `trainableVariables()`. */
  objective(items: TrainItem[]): LossTerm[];
  /**
   * Optional faster route to the same loss and gradients (e.g. frozen-input matmuls on onnxruntime);
   * without it the loop differentiates `objective`'s terms on tfjs.
   */
  lossAndGradients?(items: TrainItem[]): Promise<GradientResult>;
  /** Called after every optimiser step (e.g. projecting constrained weights back into [0, 1]). */
  afterStep?(): void;
}

export interface AnomalyMethod {
  readonly name: string;
  /** Output map side length (the input size S: maps are S x S). */
  readonly size: number;
  /** 1-based hooked layers whose cached patch tokens `score` reads. */
  readonly layers: number[];
  /** The method's resolved config (what a run used; experiments key cached training runs by it). */
  readonly config?: object;
  /** Encode/prepare whatever depends on the class names (prompt features) before scoring them. */
  prepare?(categories: string[]): Promise<void>;
  /** Zero-shot training on auxiliary data (the other dataset's test split). */
  fit?(source: TrainSource, opts: TrainOptions): Promise<TrainHistory>;
  /**
   * The method's own training recipe for a training set of this layout ("mvtec", "visa", ...), as its
   * released training script runs it; methods without one train with `simclipTrainingProtocol`'s.
   */
  trainingProtocol?(trainLayout: string): TrainingProtocol;
  /** Few-shot: k normal reference images of `category` (their cached features) before scoring it. */
  setMemory?(category: string, normals: ImageFeatures[]): Promise<void>;
  /**
   * Per-class post-processing that needs all test images of the class at once (e.g. SimCLIP+'s
   * min-max normalised map maximum); the evaluation runner calls it once per class with all outputs.
   */
  finalizeCategory?(category: string, outputs: MethodOutput): MethodOutput;
  score(batch: FeatureBatch): Promise<MethodOutput>;
  /**
   * A method that runs a frozen backbone of its own (PatchCore on WideResNet-50-2) or its own variant
   * of CLIP's (AnomalyCLIP's DPAM) names the source of the features it reads; the cache is opened on
   * it instead of the CLIP backbone's features at `size` / `layers` (`openMethodFeatures`,
   * `predictImages`). Undefined: the CLIP backbone's.
   */
  featureSource?(): FeatureSourceInfo | undefined;
  state?(): MethodState;
  dispose?(): void;
}
