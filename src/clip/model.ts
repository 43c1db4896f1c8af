/**
 * `ClipModel`: the facade every other part of simclip uses for frozen CLIP inference. Weights and
 * tokenizer come from clip-io's loaders; the towers run on onnxruntime-node, one session per
 * (input size, hooked layers, ln_post) for the vision tower and one for the text tower, created on
 * first use and kept.
 */
import type { InferenceSession } from "onnxruntime-node";
import type { ClipActivation, ClipConfig } from "./config.js";
import type { ClipWeights } from "./weights.js";
import { loadClipDir } from "./weights.js";
import { ClipTokenizer } from "./tokenizer.js";
import { resolveModelDir } from "./hub.js";
import { preprocessClip, preprocessSquare } from "./preprocess.js";
import { buildTextGraph, buildVisionGraph, visionOutputName } from "./onnx/clip-graphs.js";
import { checkExecutionProvider, createOrtSession, ort, type ExecutionProviderName, type OrtSessionOptions } from "./ort-executor.js";
import { checkVisionLayers } from "./architecture.js";
import { eotIndices, eotOneHot, disposeTfClip, textForwardTf, textTokenEmbedsTf } from "./tfjs-forward.js";
import { ortTextTower, releaseOrtTextTowers, type OrtTextTower } from "./text-vjp.js";
import type { TextVjpSpec } from "./onnx/clip-graphs.js";
import type { tf } from "../tf.js";
import { InvalidArgumentError, ShapeError } from "../errors.js";
import { startProgress } from "../progress.js";

export interface VisionOutput {
  n: number;
  /** 1 + grid * grid: the class token first, then patches row-major. */
  numTokens: number;
  width: number;
  /** 1-based layer -> [n, numTokens, width]: raw residual stream after that block (ln_post'd if asked). */
  hiddenStates: Map<number, Float32Array>;
  /** [n, width]: ln_post(class token of the last block), before projection (DPAM: without ln_post). */
  pooled: Float32Array;
  /** [n, embedDim]: pooled @ visual.proj (not normalised). */
  imageEmbeds: Float32Array;
}

export interface TextOutput {
  n: number;
  /** [n, contextLength] token ids (SOT ... EOT, zero padded). */
  inputIds: Int32Array;
  eotIndex: number[];
  /** [n, contextLength, width] after ln_final. */
  lastHiddenState: Float32Array;
  /** [n, embedDim]: the EOT feature @ text_projection (not normalised). */
  textEmbeds: Float32Array;
}

export interface EncodeImagesOptions {
  /** Input side in pixels, a multiple of the patch size (default: the model's native size). */
  size?: number;
  /** 1-based block indices to return. */
  layers: number[];
  /** Apply ln_post to the returned hidden states. */
  lnPost?: boolean;
  /** Images per onnxruntime run (default: about 4096 tokens' worth). */
  batchSize?: number;
  /**
   * AnomalyCLIP's DPAM variant of the tower (`VisionTowerOptions.dpam`): its last `blocks` blocks
   * return the v-v stream and `pooled` is the class token without ln_post.
   */
  dpam?: { blocks: number };
}

export type ClipImageTransform = "clip" | "square";

export interface ClipModelLoadOptions extends OrtSessionOptions {
  /** Which weights file to read when a directory has both layouts (default: Hugging Face's). */
  format?: "huggingface" | "openai";
  /**
   * MLP activation of both towers. Default: what the released SimCLIP / APRIL-GAN code runs at `size`
   * (`releasedActivation`); "quick-gelu" is the activation OpenAI's CLIP was trained with.
   */
  activation?: ClipActivation;
  /** Input size the model is meant to run at; only picks the default `activation` (default: the native size). */
  size?: number;
}

/**
 * The released SimCLIP / APRIL-GAN factory (`open_clip/factory.py`, `pretrained == "openai"`): at the
 * native input size it loads OpenAI's model (QuickGELU); at any other size (518 for ViT-L/14-336) it
 * builds `CLIP(**model_cfg)` from a config without `quick_gelu`, so both towers run exact GELU on
 * QuickGELU-trained weights. The paper's numbers and the authors' checkpoints come from that variant.
 * `config` is the model's as loaded from its files (its activation: the one it was trained with).
 */
export function releasedActivation(config: ClipConfig, size: number): ClipActivation {
  return size === config.vision.imageSize ? config.activation : "gelu";
}

function checkActivation(activation: string): asserts activation is ClipActivation {
  if (activation !== "gelu" && activation !== "quick-gelu") {
    throw new InvalidArgumentError(`activation must be "gelu" (exact) or "quick-gelu" (OpenAI CLIP's), got ${JSON.stringify(activation)}`);
  }
}

export class ClipModel {
  private readonly visionSessions = new Map<string, Promise<InferenceSession>>();
  private textSession?: Promise<InferenceSession>;

  /**
   * Names the function the backbone computes: the weights file's sha256, suffixed with the activation
   * when it is not the one the weights were trained with, so features cached and heads trained with
   * one activation are never reused with the other.
   */
  readonly fingerprint: string;

  private constructor(
    readonly dir: string,
    readonly config: ClipConfig,
    readonly weights: ClipWeights,
    private readonly loaded: { fingerprint: string; activation: ClipActivation },
    readonly tokenizer: ClipTokenizer,
    private readonly ortOptions: OrtSessionOptions,
  ) {
    this.fingerprint = config.activation === loaded.activation ? loaded.fingerprint : `${loaded.fingerprint}+${config.activation}`;
  }

  /** A model directory (Hugging Face or OpenAI layout) or a Hugging Face model id (downloaded and cached). */
  static async load(dirOrHubId: string, opts: ClipModelLoadOptions = {}): Promise<ClipModel> {
    // SIMCLIP_EXECUTION_PROVIDER lets every CLI command and notebook run on CUDA without a flag each.
    const executionProvider = opts.executionProvider ?? (process.env.SIMCLIP_EXECUTION_PROVIDER as ExecutionProviderName | undefined);
    const ortOptions = { threads: opts.threads, executionProvider };
    await checkExecutionProvider(ortOptions);
    const dir = await resolveModelDir(dirOrHubId);
    const loaded = await loadClipDir(dir, { format: opts.format });
    const tokenizer = await ClipTokenizer.fromDir(dir);
    const activation = opts.activation ?? releasedActivation(loaded.config, opts.size ?? loaded.config.vision.imageSize);
    checkActivation(activation);
    const files = { fingerprint: loaded.fingerprint, activation: loaded.config.activation };
    return new ClipModel(dir, { ...loaded.config, activation }, loaded.weights, files, tokenizer, ortOptions);
  }

  /** The activation the weights were trained with (their config's; OpenAI checkpoints: QuickGELU). */
  get trainedActivation(): ClipActivation {
    return this.loaded.activation;
  }

  /** What the released code would run these weights with at input size `size` (`releasedActivation`). */
  releasedActivationAt(size: number): ClipActivation {
    return releasedActivation({ ...this.config, activation: this.loaded.activation }, size);
  }

  /**
   * The same weights and tokenizer run with another MLP activation (no copy; sessions are its own).
   * Use it when the run size, and so the released rule's choice, is known only after loading.
   */
  withActivation(activation: ClipActivation): ClipModel {
    checkActivation(activation);
    if (activation === this.config.activation) return this;
    return new ClipModel(this.dir, { ...this.config, activation }, this.weights, this.loaded, this.tokenizer, this.ortOptions);
  }

  private visionSession(size: number, layers: number[], lnPost: boolean, dpam?: { blocks: number }): Promise<InferenceSession> {
    const key = `${size}|${layers.join(",")}|${lnPost}|${dpam ? `dpam${dpam.blocks}` : "plain"}`;
    let s = this.visionSessions.get(key);
    if (!s) {
      s = createOrtSession(buildVisionGraph(this.weights, this.config, { size, layers, lnPost, dpam }), this.ortOptions);
      this.visionSessions.set(key, s);
      s.catch(() => this.visionSessions.delete(key));
    }
    return s;
  }

  /** pixelValues: [n, 3, S, S], already normalised (see `preprocessClip` / `preprocessSquare`). */
  async encodeImages(pixelValues: Float32Array, n: number, opts: EncodeImagesOptions): Promise<VisionOutput> {
    const { patchSize, width } = this.config.vision;
    const size = opts.size ?? this.config.vision.imageSize;
    if (!Number.isInteger(size) || size <= 0 || size % patchSize !== 0)
      throw new InvalidArgumentError(`image size ${size}: expected a positive multiple of the patch size ${patchSize}`);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`n must be a non-negative integer, got ${n}`);
    const per = 3 * size * size;
    if (pixelValues.length !== n * per)
      throw new ShapeError(`pixel values: expected n x 3 x ${size} x ${size} = ${n * per} floats for n = ${n}, found ${pixelValues.length}`);
    const layers = [...new Set(opts.layers)].sort((a, b) => a - b);
    checkVisionLayers(this.config, layers);
    const grid = size / patchSize;
    const numTokens = 1 + grid * grid;
    const batchSize = opts.batchSize ?? Math.max(1, Math.floor(4096 / numTokens));
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError(`batchSize must be a positive integer, got ${batchSize}`);
    const session = await this.visionSession(size, layers, opts.lnPost ?? false, opts.dpam);
    const embedDim = this.config.embedDim;
    const out: VisionOutput = {
      n,
      numTokens,
      width,
      hiddenStates: new Map(layers.map((l) => [l, new Float32Array(n * numTokens * width)])),
      pooled: new Float32Array(n * width),
      imageEmbeds: new Float32Array(n * embedDim),
    };
    const progress = n > batchSize ? startProgress("CLIP vision", n) : undefined;
    for (let start = 0; start < n; start += batchSize) {
      const b = Math.min(batchSize, n - start);
      const input = new ort.Tensor("float32", pixelValues.subarray(start * per, (start + b) * per), [b, 3, size, size]);
      const res = await session.run({ pixel_values: input });
      for (const l of layers) out.hiddenStates.get(l)!.set(res[visionOutputName(l)]!.data as Float32Array, start * numTokens * width);
      out.pooled.set(res.pooled!.data as Float32Array, start * width);
      out.imageEmbeds.set(res.image_embeds!.data as Float32Array, start * embedDim);
      for (const t of Object.values(res)) t.dispose();
      progress?.update(start + b);
    }
    progress?.stop();
    return out;
  }

  /**
   * Decode and preprocess image files to [n, 3, S, S]. transform "clip": OpenAI's resize of the
   * shorter side + centre crop; "square": the peers' anomaly-detection transform, the whole image
   * resized to S x S so masks stay aligned.
   */
  async preprocessFiles(paths: string[], size: number, transform: ClipImageTransform): Promise<Float32Array> {
    const prep = transform === "clip" ? preprocessClip : preprocessSquare;
    const per = 3 * size * size;
    const pixelValues = new Float32Array(paths.length * per);
    for (let i = 0; i < paths.length; i++) {
      pixelValues.set(await prep(paths[i]!, size, this.config.imageMean, this.config.imageStd), i * per);
    }
    return pixelValues;
  }

  /** `preprocessFiles` then `encodeImages`; the pixel values are returned too. */
  async encodeImageFiles(
    paths: string[],
    opts: EncodeImagesOptions & { transform: ClipImageTransform },
  ): Promise<VisionOutput & { pixelValues: Float32Array }> {
    const size = opts.size ?? this.config.vision.imageSize;
    const pixelValues = await this.preprocessFiles(paths, size, opts.transform);
    return { ...(await this.encodeImages(pixelValues, paths.length, { ...opts, size })), pixelValues };
  }

  async encodeText(texts: string[]): Promise<TextOutput> {
    const { contextLength: ctx, width } = this.config.text;
    const n = texts.length;
    const inputIds = this.tokenizer.tokenize(texts, ctx);
    const eotIndex = eotIndices(inputIds, n, ctx);
    if (n === 0) return { n, inputIds, eotIndex, lastHiddenState: new Float32Array(0), textEmbeds: new Float32Array(0) };
    this.textSession ??= createOrtSession(buildTextGraph(this.weights, this.config), this.ortOptions);
    const session = await this.textSession;
    const res = await session.run({
      input_ids: new ort.Tensor(
        "int64",
        BigInt64Array.from(inputIds, (v) => BigInt(v)),
        [n, ctx],
      ),
      eot_onehot: new ort.Tensor("float32", eotOneHot(eotIndex, ctx), [n, 1, ctx]),
    });
    const lastHiddenState = (res.last_hidden_state!.data as Float32Array).slice(0, n * ctx * width);
    const textEmbeds = (res.text_embeds!.data as Float32Array).slice(0, n * this.config.embedDim);
    for (const t of Object.values(res)) t.dispose();
    return { n, inputIds, eotIndex, lastHiddenState, textEmbeds };
  }

  /**
   * Differentiable text tower on tfjs (see `textForwardTf`): inputEmbeds [n, ctx, width], e.g. the
   * token embeddings of `tokenEmbeddingsTf` with learnable context vectors spliced in. The same with
   * gradients at onnxruntime speed: `textTower()`.
   */
  textForwardTf(
    inputEmbeds: tf.Tensor,
    eotIndex: number[],
    deepPrompts?: tf.Tensor,
  ): { lastHiddenState: tf.Tensor3D; pooled: tf.Tensor2D; textEmbeds: tf.Tensor2D } {
    return textForwardTf(this.weights, this.config, inputEmbeds, eotIndex, deepPrompts);
  }

  /**
   * The text tower from token embeddings on onnxruntime, forward and vector-Jacobian product with
   * respect to the embeddings (and deep text prompts of the given shape): `OrtTextTower` in
   * text-vjp.ts, built on first use and kept until `dispose`.
   */
  textTower(spec: TextVjpSpec = {}): Promise<OrtTextTower> {
    return ortTextTower(this.weights, this.config, spec, this.ortOptions);
  }

  /** Tokenise and look up token embeddings as a tfjs tensor [n, ctx, width], with each row's EOT position. */
  tokenEmbeddingsTf(texts: string[]): { embeds: tf.Tensor3D; inputIds: Int32Array; eotIndex: number[] } {
    const ctx = this.config.text.contextLength;
    const inputIds = this.tokenizer.tokenize(texts, ctx);
    return { embeds: textTokenEmbedsTf(this.weights, this.config, inputIds, texts.length), inputIds, eotIndex: eotIndices(inputIds, texts.length, ctx) };
  }

  /** Release the onnxruntime sessions (the text-gradient ones too) and the tfjs copies of the weights. */
  async dispose(): Promise<void> {
    const sessions = [...this.visionSessions.values(), ...(this.textSession ? [this.textSession] : [])];
    this.visionSessions.clear();
    this.textSession = undefined;
    disposeTfClip(this.weights);
    for (const s of sessions) await (await s).release();
    await releaseOrtTextTowers(this.weights);
  }
}
