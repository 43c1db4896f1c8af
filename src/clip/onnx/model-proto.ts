/**
 * ONNX message encoders (field numbers from onnx/onnx.proto, IR version 8, opset 17: the first opset
 * with LayerNormalization). Only the fields simclip's graphs use.
 */
import { ProtoMessage } from "./protobuf.js";

export const ONNX_OPSET = 17;
const IR_VERSION = 8;

export const OnnxDataType = { FLOAT: 1, INT64: 7 } as const;
export type OnnxDataTypeCode = (typeof OnnxDataType)[keyof typeof OnnxDataType];

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, { type: "int" | "ints" | "float"; value: number | number[] } | { type: "string"; value: string }>;
}

export interface OnnxInitializer {
  name: string;
  dataType: OnnxDataTypeCode;
  dims: number[];
  raw: Uint8Array;
}

/** A graph input/output; a string dimension is symbolic (e.g. the batch). */
export interface OnnxValueInfo {
  name: string;
  dataType: OnnxDataTypeCode;
  dims: (number | string)[];
}

const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;

function encodeNode(node: OnnxNode, index: number): ProtoMessage {
  const m = new ProtoMessage();
  for (const i of node.inputs) m.string(1, i);
  for (const o of node.outputs) m.string(2, o);
  m.string(3, `${node.opType}_${index}`);
  m.string(4, node.opType);
  for (const [name, attr] of Object.entries(node.attributes ?? {})) {
    const a = new ProtoMessage().string(1, name);
    if (attr.type === "float") a.float(2, attr.value as number).int(20, ATTR_FLOAT);
    else if (attr.type === "int") a.int(3, attr.value as number).int(20, ATTR_INT);
    else if (attr.type === "string") a.string(4, attr.value).int(20, ATTR_STRING);
    else {
      for (const v of attr.value as number[]) a.int(8, v);
      a.int(20, ATTR_INTS);
    }
    m.message(5, a);
  }
  return m;
}

function encodeTensor(t: OnnxInitializer): ProtoMessage {
  const m = new ProtoMessage();
  for (const d of t.dims) m.int(1, d);
  m.int(2, t.dataType);
  m.string(8, t.name);
  m.bytes(9, t.raw);
  return m;
}

function encodeValueInfo(v: OnnxValueInfo): ProtoMessage {
  const shape = new ProtoMessage();
  for (const d of v.dims) {
    const dim = new ProtoMessage();
    if (typeof d === "string") dim.string(2, d);
    else dim.int(1, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoMessage().int(1, v.dataType).message(2, shape);
  const type = new ProtoMessage().message(1, tensorType);
  return new ProtoMessage().string(1, v.name).message(2, type);
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

/** Serialise a graph as a complete ModelProto (bytes for `InferenceSession.create`). */
export function encodeOnnxModel(graph: OnnxGraph): Uint8Array {
  const g = new ProtoMessage();
  graph.nodes.forEach((n, i) => {
    g.message(1, encodeNode(n, i));
  });
  g.string(2, graph.name);
  for (const t of graph.initializers) g.message(5, encodeTensor(t));
  for (const v of graph.inputs) g.message(11, encodeValueInfo(v));
  for (const v of graph.outputs) g.message(12, encodeValueInfo(v));
  const opset = new ProtoMessage().string(1, "").int(2, ONNX_OPSET);
  const model = new ProtoMessage().int(1, IR_VERSION).string(2, "simclip").message(7, g).message(8, opset);
  return model.toBytes();
}
