/**
 * PatchCore's backbone as an ONNX graph: torchvision's ResNet (wide_resnet50_2 by default, as
 * anomalib's PatchCore) up to the last stage PatchCore reads, plus anomalib's patch embedding.
 *
 * The architecture is read off the state dict, nothing is hard-coded but torchvision's ResNet layout:
 * stem conv1 7x7 / 2 (pad 3) + bn1 + ReLU + max-pool 3x3 / 2 (pad 1); stage s = `layer{s}`, blocks
 * `layer{s}.{b}` as long as they exist; a block with `conv3` is a Bottleneck (1x1, 3x3, 1x1; stride on
 * the 3x3, torchvision's "v1.5"), without it a BasicBlock (3x3, 3x3; stride on the first); the first
 * block of stages 2-4 has stride 2; `downsample.0/1` (1x1 conv + BN) on the shortcut where present.
 * Channel counts, kernel sizes and groups come from the tensor shapes (so reduced-width ResNets of the
 * tests and ResNeXt's grouped 3x3 work too), padding is k // 2, dilation 1.
 * BatchNorm (inference mode, eps 1e-5) is folded into the preceding convolution:
 *   W' = W * gamma / sqrt(var + eps) per output channel,  b' = beta - mean * gamma / sqrt(var + eps),
 * computed in float64 and rounded once: exact up to float rounding, and one op less per conv.
 *
 * The embedding (anomalib `PatchcoreModel.forward` + `generate_embedding`): each requested stage's
 * output is average-pooled 3x3 (stride 1, zero padding 1, count_include_pad: divisor 9), the later
 * ones resized to the first one's grid with F.interpolate(mode="bilinear", align_corners=False),
 * concatenated along the channels, and returned as [batch, P, D] rows (P = grid², row-major patches),
 * the layout of the feature cache. No projection follows (anomalib has none).
 */
import { InvalidArgumentError, ShapeError } from "../../errors.js";
import { OnnxGraphBuilder } from "../../clip/onnx/graph-builder.js";
import type { WeightTensor } from "../../clip/weights.js";
import type { ResNetWeights } from "./resnet-weights.js";

export const BATCH_NORM_EPS = 1e-5;

export interface ConvSpec {
  /** State-dict prefix of the conv (`layer2.0.conv2`) and of its BatchNorm (`layer2.0.bn2`). */
  conv: string;
  bn: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  pad: number;
  group: number;
}

export interface BlockSpec {
  name: string;
  kind: "bottleneck" | "basic";
  convs: ConvSpec[];
  downsample?: ConvSpec;
}

export interface ResNetSpec {
  stem: ConvSpec;
  /** stages[s - 1] = the blocks of `layer{s}`, for s = 1..maxStage. */
  stages: BlockSpec[][];
}

function conv(weights: ResNetWeights, where: string, convName: string, bnName: string, inChannels: number, stride: number): ConvSpec {
  const w = weights.get(`${convName}.weight`);
  if (!w) throw new ShapeError(`${where}: missing tensor "${convName}.weight" (expected torchvision's ResNet names)`);
  if (w.shape.length !== 4 || w.shape[2] !== w.shape[3] || w.shape[2]! % 2 !== 1) {
    throw new ShapeError(`${where}: "${convName}.weight" has shape [${w.shape.join(", ")}], expected [out, in / groups, k, k] with odd k`);
  }
  const [outChannels, perGroup, kernel] = w.shape as [number, number, number, number];
  if (inChannels % perGroup !== 0) {
    throw new ShapeError(`${where}: "${convName}.weight" takes ${perGroup} channels per group, which does not divide the ${inChannels} channels it receives`);
  }
  const group = inChannels / perGroup;
  if (outChannels % group !== 0) throw new ShapeError(`${where}: "${convName}.weight": ${outChannels} output channels are not divisible into ${group} groups`);
  for (const t of ["weight", "bias", "running_mean", "running_var"]) {
    const b = weights.get(`${bnName}.${t}`);
    if (!b) throw new ShapeError(`${where}: missing tensor "${bnName}.${t}" (the BatchNorm after ${convName})`);
    if (b.shape.length !== 1 || b.shape[0] !== outChannels) {
      throw new ShapeError(`${where}: "${bnName}.${t}" has shape [${b.shape.join(", ")}], expected [${outChannels}] (the output channels of ${convName})`);
    }
  }
  return { conv: convName, bn: bnName, inChannels, outChannels, kernel, stride, pad: (kernel - 1) / 2, group };
}

/** The ResNet of `weights` up to stage `maxStage` (1..4); `where` names the weights in errors. */
export function resnetSpec(weights: ResNetWeights, maxStage: number, where: string): ResNetSpec {
  if (!(Number.isInteger(maxStage) && maxStage >= 1 && maxStage <= 4)) throw new InvalidArgumentError(`ResNet stages are 1..4; got ${maxStage}`);
  const stem = conv(weights, where, "conv1", "bn1", 3, 2);
  if (stem.kernel !== 7) throw new ShapeError(`${where}: conv1 is ${stem.kernel}x${stem.kernel}, expected torchvision ResNet's 7x7 stem`);
  const stages: BlockSpec[][] = [];
  let channels = stem.outChannels;
  for (let s = 1; s <= maxStage; s++) {
    const blocks: BlockSpec[] = [];
    for (let b = 0; weights.has(`layer${s}.${b}.conv1.weight`); b++) {
      const p = `layer${s}.${b}`;
      const stride = b === 0 && s > 1 ? 2 : 1;
      const bottleneck = weights.has(`${p}.conv3.weight`);
      const convs: ConvSpec[] = [];
      let c = channels;
      for (let i = 1; i <= (bottleneck ? 3 : 2); i++) {
        // Bottleneck v1.5 strides on its 3x3 (conv2), a BasicBlock on conv1.
        const strided = bottleneck ? i === 2 : i === 1;
        const spec = conv(weights, where, `${p}.conv${i}`, `${p}.bn${i}`, c, strided ? stride : 1);
        convs.push(spec);
        c = spec.outChannels;
      }
      const block: BlockSpec = { name: p, kind: bottleneck ? "bottleneck" : "basic", convs };
      if (weights.has(`${p}.downsample.0.weight`)) {
        block.downsample = conv(weights, where, `${p}.downsample.0`, `${p}.downsample.1`, channels, stride);
        if (block.downsample.kernel !== 1)
          throw new ShapeError(`${where}: ${p}.downsample.0 is ${block.downsample.kernel}x${block.downsample.kernel}, expected a 1x1 conv`);
      }
      if (block.downsample ? block.downsample.outChannels !== c : c !== channels || stride !== 1) {
        throw new ShapeError(`${where}: block ${p} maps ${channels} to ${c} channels (stride ${stride}) without a matching downsample shortcut`);
      }
      blocks.push(block);
      channels = c;
    }
    if (blocks.length === 0)
      throw new ShapeError(`${where}: no blocks of layer${s} (missing "layer${s}.0.conv1.weight"); PatchCore needs the ResNet up to layer${maxStage}`);
    stages.push(blocks);
  }
  return { stem, stages };
}

/** Output channels of stage s (1-based). */
export function stageChannels(spec: ResNetSpec, s: number): number {
  const last = spec.stages[s - 1]!.at(-1)!;
  return last.convs.at(-1)!.outChannels;
}

const convOut = (n: number, c: Pick<ConvSpec, "kernel" | "stride" | "pad">) => Math.floor((n + 2 * c.pad - c.kernel) / c.stride) + 1;

/** Spatial side of each stage's output for a size x size input (floor arithmetic, as torch). */
export function stageGrids(spec: ResNetSpec, size: number): number[] {
  let n = convOut(size, spec.stem);
  n = convOut(n, { kernel: 3, stride: 2, pad: 1 });
  return spec.stages.map((blocks) => {
    for (const b of blocks) for (const c of b.convs) n = convOut(n, c);
    return n;
  });
}

/** Multiply-adds x 2 of one size x size image through the network up to the last stage (convolutions only). */
export function resnetFlops(spec: ResNetSpec, size: number): number {
  let flops = 0;
  const add = (c: ConvSpec, n: number) => {
    const out = convOut(n, c);
    flops += 2 * out * out * c.outChannels * (c.inChannels / c.group) * c.kernel * c.kernel;
    return out;
  };
  let n = add(spec.stem, size);
  n = convOut(n, { kernel: 3, stride: 2, pad: 1 });
  for (const blocks of spec.stages) {
    for (const b of blocks) {
      if (b.downsample) add(b.downsample, n);
      for (const c of b.convs) n = add(c, n);
    }
  }
  return flops;
}

/** Conv weight and bias with the BatchNorm folded in (float64 arithmetic, rounded once). */
export function foldBatchNorm(weights: ResNetWeights, c: ConvSpec, eps = BATCH_NORM_EPS): { weight: WeightTensor; bias: WeightTensor } {
  const w = weights.get(`${c.conv}.weight`)!;
  const gamma = weights.get(`${c.bn}.weight`)!.data;
  const beta = weights.get(`${c.bn}.bias`)!.data;
  const mean = weights.get(`${c.bn}.running_mean`)!.data;
  const variance = weights.get(`${c.bn}.running_var`)!.data;
  const per = w.data.length / c.outChannels;
  const data = new Float32Array(w.data.length);
  const bias = new Float32Array(c.outChannels);
  for (let o = 0; o < c.outChannels; o++) {
    const scale = gamma[o]! / Math.sqrt(variance[o]! + eps);
    for (let i = o * per; i < (o + 1) * per; i++) data[i] = w.data[i]! * scale;
    bias[o] = beta[o]! - mean[o]! * scale;
  }
  return { weight: { data, shape: w.shape }, bias: { data: bias, shape: [c.outChannels] } };
}

export interface ResNetGraphSpec {
  /** Input side (square images). */
  size: number;
  /** 1-based stages whose outputs form the embedding (anomalib's ["layer2", "layer3"] = [2, 3]). */
  layers: number[];
  /** Also output each stage's raw output `layer<s>` [batch, C, g, g] (tests). */
  rawLayers?: boolean;
}

export const EMBEDDING_OUTPUT = "embedding";
export const rawLayerOutput = (s: number): string => `layer${s}`;

export interface ResNetGraph {
  bytes: Uint8Array;
  /** The embedding's grid side (the first requested stage's) and width (sum of their channels). */
  grid: number;
  width: number;
  spec: ResNetSpec;
}

/**
 * Input `pixel_values` [batch, 3, size, size] (ImageNet-normalised). Outputs `embedding`
 * [batch, grid², width] and, with `rawLayers`, `layer<s>` per requested stage.
 */
export function buildResNetGraph(weights: ResNetWeights, g: ResNetGraphSpec, where = "ResNet weights"): ResNetGraph {
  const layers = [...new Set(g.layers)].sort((a, b) => a - b);
  if (layers.length === 0 || layers.some((l) => !Number.isInteger(l) || l < 1 || l > 4)) {
    throw new InvalidArgumentError(`ResNet layers must be stages among 1..4 (anomalib's layer2, layer3 = 2,3); got [${g.layers.join(", ")}]`);
  }
  const spec = resnetSpec(weights, layers.at(-1)!, where);
  const grids = stageGrids(spec, g.size);
  if (grids.some((n) => n < 1)) throw new InvalidArgumentError(`input size ${g.size} is too small for the ResNet's ${spec.stages.length} stages`);
  const b = new OnnxGraphBuilder(`resnet_${g.size}_layers${layers.join("")}`);
  const convBn = (x: string, c: ConvSpec) => {
    const f = foldBatchNorm(weights, c);
    const w = b.constant(`${c.conv}.weight+${c.bn}`, () => f.weight);
    const bias = b.constant(`${c.conv}.bias+${c.bn}`, () => f.bias);
    return b.conv(x, w, bias, { kernel: c.kernel, stride: c.stride, pad: c.pad, group: c.group });
  };
  let x = b.input("pixel_values", "float32", ["batch", 3, g.size, g.size]);
  x = b.maxPool(b.relu(convBn(x, spec.stem)), 3, 2, 1);
  const stageOut = new Map<number, string>();
  spec.stages.forEach((blocks, i) => {
    for (const block of blocks) {
      let y = x;
      block.convs.forEach((c, j) => {
        y = convBn(y, c);
        if (j < block.convs.length - 1) y = b.relu(y);
      });
      x = b.relu(b.add(y, block.downsample ? convBn(x, block.downsample) : x));
    }
    stageOut.set(i + 1, x);
  });
  const grid = grids[layers[0]! - 1]!;
  const parts = layers.map((s) => {
    const pooled = b.averagePool(stageOut.get(s)!, 3, 1, 1);
    return grids[s - 1] === grid ? pooled : b.resizeBilinear(pooled, grid, grid);
  });
  const width = layers.reduce((a, s) => a + stageChannels(spec, s), 0);
  const cat = parts.length === 1 ? parts[0]! : b.concat(parts, 1);
  b.output(b.reshape(b.transpose(cat, [0, 2, 3, 1]), [0, grid * grid, width]), EMBEDDING_OUTPUT, ["batch", grid * grid, width]);
  if (g.rawLayers) {
    for (const s of layers) b.output(stageOut.get(s)!, rawLayerOutput(s), ["batch", stageChannels(spec, s), grids[s - 1]!, grids[s - 1]!]);
  }
  return { bytes: b.toBytes(), grid, width, spec };
}
