/**
 * The ONNX executor of `ClipOps`: each op appends nodes to a graph whose tensors are named by strings.
 * Frozen parameters become initializers (already transposed/folded by the architecture, so no
 * Transpose runs on weights at inference time).
 */
import type { ClipOps } from "../ops.js";
import { InvalidArgumentError } from "../../errors.js";
import type { WeightTensor } from "../weights.js";
import { type OnnxGraph, type OnnxInitializer, type OnnxNode, type OnnxValueInfo, OnnxDataType, encodeOnnxModel } from "./model-proto.js";

const PROTOBUF_LIMIT = 2 ** 31 - 1;

function floatBytes(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function int64Initializer(name: string, values: number[]): OnnxInitializer {
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dataType: OnnxDataType.INT64, dims: [values.length], raw: new Uint8Array(data.buffer) };
}

export class OnnxGraphBuilder implements ClipOps<string> {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers = new Map<string, OnnxInitializer>();
  private readonly inputs: OnnxValueInfo[] = [];
  private readonly outputs: OnnxValueInfo[] = [];
  private counter = 0;
  private readonly renamed = new Map<string, string>();

  constructor(private readonly name: string) {}

  input(name: string, dataType: "float32" | "int64", dims: (number | string)[]): string {
    this.inputs.push({ name, dataType: dataType === "float32" ? OnnxDataType.FLOAT : OnnxDataType.INT64, dims });
    return name;
  }

  /** Expose tensor `x` as graph output `name` (an Identity node, so one tensor may be output twice). */
  output(x: string, name: string, dims: (number | string)[]): void {
    this.nodes.push({ opType: "Identity", inputs: [x], outputs: [name] });
    this.outputs.push({ name, dataType: OnnxDataType.FLOAT, dims });
  }

  /**
   * Expose node output `x` as graph output `name` by renaming it, without the copy an Identity makes
   * (the reverse-mode transform's residuals are many and large). Inputs, constants and tensors
   * already exposed fall back to `output`.
   */
  outputInPlace(x: string, name: string, dims: (number | string)[]): void {
    const current = this.renamed.get(x) ?? x;
    const producer = this.nodes.find((n) => n.outputs.includes(current));
    if (!producer || this.outputs.some((o) => o.name === current)) {
      this.output(current, name, dims);
      return;
    }
    for (const n of this.nodes) {
      n.inputs = n.inputs.map((i) => (i === current ? name : i));
      n.outputs = n.outputs.map((o) => (o === current ? name : o));
    }
    this.renamed.set(x, name);
    this.outputs.push({ name, dataType: OnnxDataType.FLOAT, dims });
  }

  toBytes(): Uint8Array {
    const weightBytes = [...this.initializers.values()].reduce((a, t) => a + t.raw.byteLength, 0);
    if (weightBytes >= PROTOBUF_LIMIT)
      throw new InvalidArgumentError(
        `ONNX graph "${this.name}": ${(weightBytes / 2 ** 30).toFixed(2)} GiB of weights exceed protobuf's 2 GiB message limit; ` +
          `simclip embeds weights in the model and supports CLIP towers up to ViT-L/14 (1.2 GiB) in fp32`,
      );
    const graph: OnnxGraph = {
      name: this.name,
      nodes: this.nodes,
      initializers: [...this.initializers.values()],
      inputs: this.inputs,
      outputs: this.outputs,
    };
    return encodeOnnxModel(graph);
  }

  private node(opType: string, inputs: string[], attributes?: OnnxNode["attributes"]): string {
    const out = `t${this.counter++}_${opType}`;
    this.nodes.push({ opType, inputs, outputs: [out], attributes });
    return out;
  }

  private ints(values: number[]): string {
    const name = `i64[${values.join(",")}]`;
    if (!this.initializers.has(name)) this.initializers.set(name, int64Initializer(name, values));
    return name;
  }

  constant(key: string, make: () => WeightTensor): string {
    if (!this.initializers.has(key)) {
      const w = make();
      this.initializers.set(key, { name: key, dataType: OnnxDataType.FLOAT, dims: w.shape, raw: floatBytes(w.data) });
    }
    return key;
  }

  matmul(a: string, b: string): string {
    return this.node("MatMul", [a, b]);
  }
  add(a: string, b: string): string {
    return this.node("Add", [a, b]);
  }
  mul(a: string, b: string): string {
    return this.node("Mul", [a, b]);
  }
  sigmoid(x: string): string {
    return this.node("Sigmoid", [x]);
  }
  erf(x: string): string {
    return this.node("Erf", [x]);
  }
  layerNorm(x: string, gamma: string, beta: string, eps: number): string {
    return this.node("LayerNormalization", [x, gamma, beta], {
      axis: { type: "int", value: -1 },
      epsilon: { type: "float", value: eps },
    });
  }
  softmax(x: string): string {
    return this.node("Softmax", [x], { axis: { type: "int", value: -1 } });
  }
  reshape(x: string, shape: number[]): string {
    return this.node("Reshape", [x, this.ints(shape)]);
  }
  transpose(x: string, perm: number[]): string {
    return this.node("Transpose", [x], { perm: { type: "ints", value: perm } });
  }
  pad(x: string, before: number[], after: number[]): string {
    return this.node("Pad", [x, this.ints([...before, ...after])]);
  }
  slice(x: string, axis: number, start: number, end: number): string {
    return this.node("Slice", [x, this.ints([start]), this.ints([end]), this.ints([axis])]);
  }
  gather(table: string, ids: string): string {
    return this.node("Gather", [table, ids], { axis: { type: "int", value: 0 } });
  }

  // ---------------------------------------------------------------------------------------------
  // Convolutional-network ops, outside `ClipOps`: PatchCore's WideResNet-50-2 backbone
  // (src/models/patchcore/wide-resnet.ts). Tensors are NCHW, as in PyTorch.
  // ---------------------------------------------------------------------------------------------

  /** torch.nn.Conv2d: square kernel (from w [Cout, Cin / group, k, k]), symmetric zero padding. */
  conv(x: string, w: string, bias: string | undefined, o: { kernel: number; stride: number; pad: number; group?: number }): string {
    return this.node("Conv", bias === undefined ? [x, w] : [x, w, bias], {
      kernel_shape: { type: "ints", value: [o.kernel, o.kernel] },
      strides: { type: "ints", value: [o.stride, o.stride] },
      pads: { type: "ints", value: [o.pad, o.pad, o.pad, o.pad] },
      group: { type: "int", value: o.group ?? 1 },
    });
  }
  relu(x: string): string {
    return this.node("Relu", [x]);
  }
  /** torch.nn.MaxPool2d(kernel, stride, pad) (padding never wins: it is -inf). */
  maxPool(x: string, kernel: number, stride: number, pad: number): string {
    return this.node("MaxPool", [x], {
      kernel_shape: { type: "ints", value: [kernel, kernel] },
      strides: { type: "ints", value: [stride, stride] },
      pads: { type: "ints", value: [pad, pad, pad, pad] },
    });
  }
  /** torch.nn.AvgPool2d(kernel, stride, pad) with its default count_include_pad=True (always / kernel²). */
  averagePool(x: string, kernel: number, stride: number, pad: number): string {
    return this.node("AveragePool", [x], {
      kernel_shape: { type: "ints", value: [kernel, kernel] },
      strides: { type: "ints", value: [stride, stride] },
      pads: { type: "ints", value: [pad, pad, pad, pad] },
      count_include_pad: { type: "int", value: 1 },
    });
  }
  concat(xs: string[], axis: number): string {
    return this.node("Concat", xs, { axis: { type: "int", value: axis } });
  }
  /**
   * F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False) of an NCHW tensor
   * whose batch and channels stay symbolic (ONNX Resize, linear, half_pixel; no antialiasing).
   */
  resizeBilinear(x: string, height: number, width: number): string {
    const batchChannels = this.slice(this.node("Shape", [x]), 0, 0, 2);
    const sizes = this.concat([batchChannels, this.ints([height, width])], 0);
    return this.node("Resize", [x, "", "", sizes], {
      mode: { type: "string", value: "linear" },
      coordinate_transformation_mode: { type: "string", value: "half_pixel" },
    });
  }

  // Beyond ClipOps: what the reverse-mode transform (`autodiff/vjp-graphs.ts`) emits for adjoints.

  /** A float32 scalar constant (broadcasts against any tensor). */
  scalar(v: number): string {
    return this.constant(`scalar(${v})`, () => ({ data: Float32Array.of(v), shape: [] }));
  }
  /**
   * LayerNormalization over the last axis without scale and shift, with its optional InvStdDev
   * output: [(x - mean) / sqrt(var + eps), 1 / sqrt(var + eps)], the latter with the last axis kept as 1.
   */
  normalizeWithInvStd(x: string, width: number, eps: number): [string, string] {
    const ones = this.constant(`ones(${width})`, () => ({ data: new Float32Array(width).fill(1), shape: [width] }));
    const zeros = this.constant(`zeros(${width})`, () => ({ data: new Float32Array(width), shape: [width] }));
    const y = `t${this.counter++}_LayerNormalization`;
    const invStd = `t${this.counter++}_InvStdDev`;
    this.nodes.push({
      opType: "LayerNormalization",
      inputs: [x, ones, zeros],
      outputs: [y, "", invStd],
      attributes: { axis: { type: "int", value: -1 }, epsilon: { type: "float", value: eps } },
    });
    return [y, invStd];
  }
  sub(a: string, b: string): string {
    return this.node("Sub", [a, b]);
  }
  div(a: string, b: string): string {
    return this.node("Div", [a, b]);
  }
  exp(x: string): string {
    return this.node("Exp", [x]);
  }
  sqrt(x: string): string {
    return this.node("Sqrt", [x]);
  }
  reduceSum(x: string, axes: number[], keepDims: boolean): string {
    return this.node("ReduceSum", [x, this.ints(axes)], { keepdims: { type: "int", value: keepDims ? 1 : 0 } });
  }
  /** Opset 17's ReduceMean takes its axes as an attribute (an input only from opset 18). */
  reduceMean(x: string, axes: number[], keepDims: boolean): string {
    return this.node("ReduceMean", [x], { axes: { type: "ints", value: axes }, keepdims: { type: "int", value: keepDims ? 1 : 0 } });
  }
}
