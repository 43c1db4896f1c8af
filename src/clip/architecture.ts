/**
 * CLIP's two towers, written once against `ClipOps` (OpenAI's clip/model.py is the reference):
 * pre-LN residual blocks `x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))`, QuickGELU (or, as
 * `config.activation` says, exact GELU) MLP, LayerNorm
 * eps 1e-5, q/k/v as the three row-chunks of `in_proj_weight`. The ONNX executor turns this into an
 * onnxruntime graph, the tfjs executor runs it eagerly with gradients.
 *
 * Parameters are prepared here for speed, identically for both executors: linear weights are
 * pre-transposed to [in, out] (no Transpose at run time), the attention scale 1/sqrt(head_dim) is
 * folded into the q projection (exact for head_dim 64 or 16, where it is a power of two), and the
 * class embedding is folded into position 0 of the positional embedding (see `visionTower`). The
 * residual stream is kept 2-D, [n * tokens, width], so onnxruntime fuses each MatMul + bias Add into
 * one Gemm; it is reshaped to [n, heads, tokens, head_dim] only inside attention.
 */
import type { ClipActivation, ClipConfig } from "./config.js";
import type { ClipOps } from "./ops.js";
import type { ClipWeights, WeightTensor } from "./weights.js";
import { ShapeError } from "../errors.js";
import { interpolatePosEmbed, interpolatePosEmbedBilinear } from "./pos-embed.js";

const LN_EPS = 1e-5;
const QUICK_GELU_ALPHA = 1.702;

function need(weights: ClipWeights, name: string): WeightTensor {
  const w = weights.get(name);
  if (!w) throw new ShapeError(`CLIP weights: tensor "${name}" is missing (expected OpenAI state-dict names, as loadClipDir returns)`);
  return w;
}

/**
 * [rows, cols] row-major -> [cols, rows], taking only rows [r0, r1) and scaling. Tiled, because a
 * naive strided transpose of ViT-L's 300 M weights takes seconds longer.
 */
function transposeRows(w: WeightTensor, r0: number, r1: number, scale = 1): WeightTensor {
  const cols = w.shape[1]!;
  const rows = r1 - r0;
  const out = new Float32Array(rows * cols);
  const src = w.data;
  const TILE = 32;
  for (let rb = 0; rb < rows; rb += TILE) {
    const rEnd = Math.min(rb + TILE, rows);
    for (let cb = 0; cb < cols; cb += TILE) {
      const cEnd = Math.min(cb + TILE, cols);
      for (let r = rb; r < rEnd; r++) {
        const base = (r0 + r) * cols;
        for (let c = cb; c < cEnd; c++) out[c * rows + r] = src[base + c]! * scale;
      }
    }
  }
  return { data: out, shape: [cols, rows] };
}

function sliceScaled(w: WeightTensor, start: number, end: number, scale = 1): WeightTensor {
  const data = w.data.slice(start, end);
  if (scale !== 1) for (let i = 0; i < data.length; i++) data[i] = data[i]! * scale;
  return { data, shape: [end - start] };
}

class Params<T> {
  constructor(
    readonly ops: ClipOps<T>,
    readonly weights: ClipWeights,
    readonly activation: ClipActivation,
  ) {}

  /** QuickGELU x * sigmoid(1.702 x) (OpenAI's training) or exact GELU x * (1 + erf(x / sqrt 2)) / 2 (torch's nn.GELU). */
  mlpActivation(x: T): T {
    const { ops } = this;
    const scalar = (key: string, v: number) => ops.constant(key, () => ({ data: Float32Array.of(v), shape: [] }));
    if (this.activation === "quick-gelu") return ops.mul(x, ops.sigmoid(ops.mul(x, scalar("quick_gelu_alpha", QUICK_GELU_ALPHA))));
    const cdf = ops.add(scalar("one", 1), ops.erf(ops.mul(x, scalar("sqrt1_2", Math.SQRT1_2))));
    return ops.mul(ops.mul(x, cdf), scalar("one_half", 0.5));
  }

  raw(name: string): T {
    return this.ops.constant(name, () => need(this.weights, name));
  }

  /** PyTorch Linear weight [out, in] as the [in, out] right operand of MatMul. */
  linearWeight(name: string): T {
    return this.ops.constant(`${name}^T`, () => {
      const w = need(this.weights, name);
      return transposeRows(w, 0, w.shape[0]!);
    });
  }

  linear(x: T, prefix: string): T {
    return this.ops.add(this.ops.matmul(x, this.linearWeight(`${prefix}.weight`)), this.raw(`${prefix}.bias`));
  }

  layerNorm(x: T, prefix: string): T {
    return this.ops.layerNorm(x, this.raw(`${prefix}.weight`), this.raw(`${prefix}.bias`), LN_EPS);
  }

  /** Chunk `chunk` (0 = q, 1 = k, 2 = v) of in_proj as x @ W_chunk^T + b_chunk, times `scale`. */
  inProj(x: T, prefix: string, chunk: number, scale: number): T {
    const wName = `${prefix}.in_proj_weight`;
    const bName = `${prefix}.in_proj_bias`;
    const wT = this.ops.constant(`${wName}[${chunk}]^T*${scale}`, () => {
      const w = need(this.weights, wName);
      const width = w.shape[1]!;
      return transposeRows(w, chunk * width, (chunk + 1) * width, scale);
    });
    const b = this.ops.constant(`${bName}[${chunk}]*${scale}`, () => {
      const bias = need(this.weights, bName);
      const width = bias.shape[0]! / 3;
      return sliceScaled(bias, chunk * width, (chunk + 1) * width, scale);
    });
    return this.ops.add(this.ops.matmul(x, wT), b);
  }
}

interface BlockShape {
  tokens: number;
  width: number;
  heads: number;
  /** Additive attention mask [tokens, tokens] (the text tower's causal mask), or none. */
  mask?: { key: string; make: () => WeightTensor };
}

/** q (pre-scaled by 1/sqrt(head_dim)), k^T and v per head [n, heads, tokens, head_dim], and the merge + out_proj of a context. */
function attentionParts<T>(p: Params<T>, x: T, prefix: string, s: BlockShape) {
  const { ops } = p;
  const headDim = s.width / s.heads;
  const split = (t: T) => ops.reshape(t, [-1, s.tokens, s.heads, headDim]);
  const q = ops.transpose(split(p.inProj(x, prefix, 0, 1 / Math.sqrt(headDim))), [0, 2, 1, 3]);
  const kT = ops.transpose(split(p.inProj(x, prefix, 1, 1)), [0, 2, 3, 1]);
  const vRows = split(p.inProj(x, prefix, 2, 1));
  const v = ops.transpose(vRows, [0, 2, 1, 3]);
  const merge = (ctx: T) => p.linear(ops.reshape(ops.transpose(ctx, [0, 2, 1, 3]), [-1, s.width]), `${prefix}.out_proj`);
  return { q, kT, v, vRows, headDim, merge };
}

function attention<T>(p: Params<T>, x: T, prefix: string, s: BlockShape): T {
  const { ops } = p;
  const { q, kT, v, merge } = attentionParts(p, x, prefix, s);
  let scores = ops.matmul(q, kT);
  if (s.mask) scores = ops.add(scores, ops.constant(s.mask.key, s.mask.make));
  return merge(ops.matmul(ops.softmax(scores), v));
}

/**
 * AnomalyCLIP's DPAM attention: from one input, the block's own q-k attention and the v-v attention
 * softmax(v v^T / sqrt(head_dim)) v, both through the block's in_proj / out_proj weights.
 */
function dualAttention<T>(p: Params<T>, x: T, prefix: string, s: BlockShape): { qk: T; vv: T } {
  const { ops } = p;
  const { q, kT, v, vRows, headDim, merge } = attentionParts(p, x, prefix, s);
  const vT = ops.transpose(vRows, [0, 2, 3, 1]);
  const scale = ops.constant(`attention_scale_${headDim}`, () => ({ data: Float32Array.of(1 / Math.sqrt(headDim)), shape: [] }));
  return {
    qk: merge(ops.matmul(ops.softmax(ops.matmul(q, kT)), v)),
    vv: merge(ops.matmul(ops.softmax(ops.mul(ops.matmul(v, vT), scale)), v)),
  };
}

/** x: the residual stream [n * tokens, width]. */
function residualBlock<T>(p: Params<T>, x: T, prefix: string, s: BlockShape): T {
  return mlpResidual(p, p.ops.add(x, attention(p, p.layerNorm(x, `${prefix}.ln_1`), `${prefix}.attn`, s)), prefix);
}

function mlpResidual<T>(p: Params<T>, h: T, prefix: string): T {
  const fc = p.linear(p.layerNorm(h, `${prefix}.ln_2`), `${prefix}.mlp.c_fc`);
  return p.ops.add(h, p.linear(p.mlpActivation(fc), `${prefix}.mlp.c_proj`));
}

/**
 * A DPAM block (AnomalyCLIP's released `ResidualAttentionBlock` with its attention replaced): both
 * attentions read ln_1 of the q-k stream; the q-k stream goes on through the MLP, the v-v stream
 * (starting from the q-k stream's value at the first replaced block) skips it.
 */
function dpamBlock<T>(p: Params<T>, x: { qk: T; vv: T | null }, prefix: string, s: BlockShape): { qk: T; vv: T } {
  const a = dualAttention(p, p.layerNorm(x.qk, `${prefix}.ln_1`), `${prefix}.attn`, s);
  return { qk: mlpResidual(p, p.ops.add(x.qk, a.qk), prefix), vv: p.ops.add(x.vv ?? x.qk, a.vv) };
}

export interface VisionTowerOptions {
  /** Patch grid side: input size / patch size. Positional embeddings are interpolated if it differs. */
  grid: number;
  /** 1-based block indices whose outputs are returned. */
  layers: number[];
  /** Apply ln_post to the returned hidden states (every token). */
  lnPost: boolean;
  /**
   * AnomalyCLIP's vision variant (its released `DAPM_replace`), absent for plain CLIP: the last
   * `dpamBlocks` blocks run the dual path of `dpamBlock` and their hooked outputs are the v-v stream;
   * the positional embedding is resized bilinearly (align_corners false, no antialias) instead of the
   * open_clip peers' antialiased bicubic; `pooled` is the class token without ln_post.
   */
  dpam?: { blocks: number };
}

/** The number of blocks `DAPM_replace(DPAM_layer = n)` replaces: the last n - 1. */
export function dpamBlocksOf(config: ClipConfig, dpamLayer: number): number {
  const n = config.vision.layers;
  if (!Number.isInteger(dpamLayer) || dpamLayer < 2 || dpamLayer > n + 1)
    throw new ShapeError(
      `DPAM layer ${dpamLayer}: DAPM_replace(DPAM_layer = N) replaces the last N - 1 blocks, so N must be an integer in 2..${n + 1} for this ${n}-block vision tower`,
    );
  return dpamLayer - 1;
}

export interface VisionTowerResult<T> {
  /** layer -> [n, 1 + grid^2, width]: class token first, then patches row-major. */
  hidden: Map<number, T>;
  /** [n, width]: ln_post(class token after the last block), before projection (DPAM: without ln_post). */
  pooled: T;
  /** [n, embedDim]: pooled @ visual.proj. */
  imageEmbeds: T;
}

export function checkVisionLayers(config: ClipConfig, layers: number[]): void {
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 1 || l > config.vision.layers)
      throw new ShapeError(`vision layer ${l} requested: layers are 1-based block indices 1..${config.vision.layers}`);
  }
}

/** pixelValues: [n, 3, grid*patch, grid*patch], already normalised. */
export function visionTower<T>(ops: ClipOps<T>, weights: ClipWeights, config: ClipConfig, pixelValues: T, opts: VisionTowerOptions): VisionTowerResult<T> {
  checkVisionLayers(config, opts.layers);
  const p = new Params(ops, weights, config.activation);
  const { width, patchSize: ps, heads, layers } = config.vision;
  const g = opts.grid;
  const tokens = 1 + g * g;
  // conv1 (kernel = stride = patch, no bias) as patch extraction + MatMul: same arithmetic, and lets
  // both executors use their fast GEMM. Patches row-major, each flattened as (channel, row, col) like
  // conv1.weight [W, 3, p, p].
  const patches = ops.reshape(ops.transpose(ops.reshape(pixelValues, [-1, 3, g, ps, g, ps]), [0, 2, 4, 1, 3, 5]), [-1, g * g, 3 * ps * ps]);
  const convT = ops.constant("visual.conv1.weight^T", () => {
    const w = need(weights, "visual.conv1.weight");
    return transposeRows({ data: w.data, shape: [w.shape[0]!, 3 * ps * ps] }, 0, w.shape[0]!);
  });
  // The class token enters as a zero row padded in front, and class_embedding is pre-added to the
  // class position's positional embedding: cls + pos[0] is the same single float32 addition OpenAI does.
  const seq = ops.pad(ops.matmul(patches, convT), [0, 1, 0], [0, 0, 0]);
  const dpam = opts.dpam;
  if (dpam && (!Number.isInteger(dpam.blocks) || dpam.blocks < 1 || dpam.blocks > layers))
    throw new ShapeError(`DPAM: ${dpam.blocks} replaced blocks requested, the vision tower has ${layers}`);
  const resize = dpam ? interpolatePosEmbedBilinear : interpolatePosEmbed;
  const pos = ops.constant(`visual.positional_embedding@${g}${dpam ? "-bilinear" : ""}+class_embedding`, () => {
    const resized = resize(need(weights, "visual.positional_embedding"), g);
    const cls = need(weights, "visual.class_embedding");
    for (let i = 0; i < width; i++) resized.data[i] = resized.data[i]! + cls.data[i]!;
    return resized;
  });
  let x = p.layerNorm(ops.reshape(ops.add(seq, pos), [-1, width]), "visual.ln_pre");
  const hidden = new Map<number, T>();
  const wanted = new Set(opts.layers);
  const unflatten = (t: T) => ops.reshape(t, [-1, tokens, width]);
  const firstDpam = dpam ? layers - dpam.blocks + 1 : layers + 1;
  let vv: T | null = null;
  for (let l = 1; l <= layers; l++) {
    const prefix = `visual.transformer.resblocks.${l - 1}`;
    let hooked: T;
    if (l < firstDpam) {
      x = residualBlock(p, x, prefix, { tokens, width, heads });
      hooked = x;
    } else {
      ({ qk: x, vv } = dpamBlock(p, { qk: x, vv }, prefix, { tokens, width, heads }));
      hooked = vv;
    }
    if (wanted.has(l)) hidden.set(l, unflatten(opts.lnPost ? p.layerNorm(hooked, "visual.ln_post") : hooked));
  }
  const cls = ops.reshape(ops.slice(unflatten(x), 1, 0, 1), [-1, width]);
  const pooled = dpam ? cls : p.layerNorm(cls, "visual.ln_post");
  const imageEmbeds = ops.matmul(pooled, p.raw("visual.proj"));
  return { hidden, pooled, imageEmbeds };
}

/** Token ids [n, contextLength] (int) -> token embeddings [n, contextLength, width]. */
export function textTokenEmbeds<T>(ops: ClipOps<T>, weights: ClipWeights, ids: T): T {
  return ops.gather(
    ops.constant("token_embedding.weight", () => need(weights, "token_embedding.weight")),
    ids,
  );
}

export interface TextTowerResult<T> {
  /** [n, contextLength, width] after ln_final, every position. */
  lastHiddenState: T;
  /** [n, width]: lastHiddenState at each row's EOT position (before the projection). */
  pooled: T;
  /** [n, embedDim]: the EOT position's feature @ text_projection. */
  textEmbeds: T;
}

/**
 * Learnable tokens inside the text tower (AnomalyCLIP's "deep" text prompts, MaPLe's compound
 * prompts): before block l (1-based, l = 1..depth, i.e. every block but the first up to depth),
 * positions 1..length of every sequence are replaced by row l - 1 of `prompts` [depth, length, width].
 */
export interface DeepTextPrompts<T> {
  prompts: T;
  depth: number;
  length: number;
}

/** Additive causal mask: position i attends to j <= i (OpenAI's build_attention_mask). */
function causalMask(n: number): WeightTensor {
  const data = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) data[i * n + j] = -Infinity;
  return { data, shape: [n, n] };
}

export function checkDeepTextPrompts(config: ClipConfig, depth: number, length: number): void {
  const { layers, contextLength } = config.text;
  if (!Number.isInteger(depth) || depth < 1 || depth >= layers)
    throw new ShapeError(`deep text prompts: depth ${depth} must be an integer in 1..${layers - 1} (blocks 2..${layers} of the text tower)`);
  if (!Number.isInteger(length) || length < 1 || length > contextLength - 2)
    throw new ShapeError(`deep text prompts: length ${length} must be an integer in 1..${contextLength - 2} (positions after the start token)`);
}

/**
 * x [n * tokens, width] with positions 1..length of each sequence replaced by `row` [length, width]:
 * a product with a 0/1 row mask plus the zero-padded row, the same values as concatenating
 * (prefix, row, suffix) in OpenAI's layout, with ops both executors differentiate.
 */
function replacePositions<T>(ops: ClipOps<T>, x: T, row: T, tokens: number, width: number, length: number): T {
  const keep = ops.constant(`keep_rows_${tokens}_except_1..${length}`, () => {
    const data = new Float32Array(tokens).fill(1);
    data.fill(0, 1, 1 + length);
    return { data, shape: [tokens, 1] };
  });
  const placed = ops.pad(row, [1, 0], [tokens - 1 - length, 0]);
  return ops.reshape(ops.add(ops.mul(ops.reshape(x, [-1, tokens, width]), keep), placed), [-1, width]);
}

export interface TextTowerOptions<T> {
  deep?: DeepTextPrompts<T>;
  /**
   * Sequence length L <= contextLength: the inputs are the first L positions of each row (default:
   * all). Under the causal mask no position sees a later one, so every output up to position L - 1,
   * the EOT features included when each row's EOT is before L, is the same as with the full context.
   */
  length?: number;
}

/**
 * inputEmbeds: [n, L, width] token embeddings (learnable context vectors can replace rows, as CoOp
 * does), L = `opts.length` or the context length. eotOneHot: [n, 1, L], 1 at each row's EOT position
 * (argmax of the ids in OpenAI's code); pooling as a product with it keeps the path differentiable in
 * every executor.
 */
export function textTower<T>(
  ops: ClipOps<T>,
  weights: ClipWeights,
  config: ClipConfig,
  inputEmbeds: T,
  eotOneHot: T,
  opts: TextTowerOptions<T> = {},
): TextTowerResult<T> {
  const p = new Params(ops, weights, config.activation);
  const { width, heads, layers, contextLength } = config.text;
  const tokens = opts.length ?? contextLength;
  const deep = opts.deep;
  if (!Number.isInteger(tokens) || tokens < 1 || tokens > contextLength)
    throw new ShapeError(`text tower: sequence length ${tokens} must be an integer in 1..${contextLength}`);
  if (deep) {
    checkDeepTextPrompts(config, deep.depth, deep.length);
    if (tokens < deep.length + 1)
      throw new ShapeError(`text tower: deep prompts of length ${deep.length} need sequences of at least ${deep.length + 1} tokens, got ${tokens}`);
  }
  const mask = { key: `causal_mask_${tokens}`, make: () => causalMask(tokens) };
  const pos =
    tokens === contextLength
      ? p.raw("positional_embedding")
      : ops.constant(`positional_embedding[:${tokens}]`, () => {
          const w = need(weights, "positional_embedding");
          return { data: w.data.slice(0, tokens * width), shape: [tokens, width] };
        });
  let x = ops.reshape(ops.add(inputEmbeds, pos), [-1, width]);
  for (let l = 0; l < layers; l++) {
    if (deep && l >= 1 && l <= deep.depth) {
      const row = ops.reshape(ops.slice(deep.prompts, 0, l - 1, l), [deep.length, width]);
      x = replacePositions(ops, x, row, tokens, width, deep.length);
    }
    x = residualBlock(p, x, `transformer.resblocks.${l}`, { tokens, width, heads, mask });
  }
  const lastHiddenState = ops.reshape(p.layerNorm(x, "ln_final"), [-1, tokens, width]);
  const pooled = ops.reshape(ops.matmul(eotOneHot, lastHiddenState), [-1, width]);
  return { lastHiddenState, pooled, textEmbeds: ops.matmul(pooled, p.raw("text_projection")) };
}
