/**
 * A recording executor of `ClipOps`: running a tower of `architecture.ts` on it records the op graph
 * (a tape, topologically ordered) with symbolic shapes, which `vjp-graphs.ts` differentiates in
 * reverse mode and emits as ONNX graphs. Nothing is computed here except the constants' values.
 *
 * Shapes stay polymorphic in the batch: a dimension is a positive size, or -k for k times the batch
 * (so [-1, 77, 512] is [batch, 77, 512] and [-77, 512] the flattened [batch * 77, 512]). That is
 * all CLIP's reshapes need, and it lets one graph serve every batch size as the inference graphs do.
 */
import type { ClipOps } from "../ops.js";
import type { WeightTensor } from "../weights.js";
import { InvalidArgumentError, ShapeError } from "../../errors.js";

/** A dimension: > 0 a fixed size; -k (k > 0) k times the batch size. */
export type Dim = number;

export type TapeOp =
  | { kind: "input"; name: string }
  | { kind: "constant"; key: string; value: WeightTensor }
  | { kind: "matmul" }
  | { kind: "add" }
  | { kind: "mul" }
  | { kind: "sigmoid" }
  | { kind: "erf" }
  | { kind: "layerNorm"; eps: number }
  | { kind: "softmax" }
  | { kind: "reshape"; shape: number[] }
  | { kind: "transpose"; perm: number[] }
  | { kind: "pad"; before: number[]; after: number[] }
  | { kind: "slice"; axis: number; start: number; end: number }
  | { kind: "gather" };

export class TapeNode {
  constructor(
    readonly id: number,
    readonly op: TapeOp,
    readonly inputs: TapeNode[],
    readonly shape: Dim[],
    /** Depends on an input that gradients are taken with respect to. */
    readonly differentiable: boolean,
  ) {}
}

export const dimLabel = (d: Dim): string | number => (d > 0 ? d : d === -1 ? "batch" : `${-d}*batch`);

/** An ONNX Reshape target for `shape`: the (single) batch-dependent dimension becomes -1. */
export function reshapeSpec(shape: Dim[]): number[] {
  if (shape.filter((d) => d < 0).length > 1) throw new ShapeError(`shape [${shape.map(dimLabel).join(", ")}] has more than one batch-dependent dimension`);
  return shape.map((d) => (d < 0 ? -1 : d));
}

function broadcast(a: Dim[], b: Dim[], what: string): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1)
      throw new ShapeError(`${what}: shapes [${a.map(dimLabel).join(", ")}] and [${b.map(dimLabel).join(", ")}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

function reshaped(from: Dim[], target: number[]): Dim[] {
  const batchDims = from.filter((d) => d < 0).length;
  if (batchDims > 1) throw new ShapeError(`reshape of [${from.map(dimLabel).join(", ")}]: more than one batch-dependent dimension`);
  const total = from.reduce((a, d) => a * Math.abs(d), 1);
  const free = target.filter((d) => d === -1).length;
  const known = target.reduce((a, d) => (d === -1 ? a : a * d), 1);
  if (target.some((d) => d === 0 || d < -1) || free > 1 || (batchDims === 1 && free === 0) || total % known !== 0 || (free === 0 && known !== total))
    throw new ShapeError(`reshape of [${from.map(dimLabel).join(", ")}] to [${target.join(", ")}]: the element counts do not match`);
  const rest = total / known;
  return target.map((d) => (d === -1 ? (batchDims ? -rest : rest) : d));
}

export class Tape implements ClipOps<TapeNode> {
  readonly nodes: TapeNode[] = [];
  private readonly constants = new Map<string, TapeNode>();

  private push(op: TapeOp, inputs: TapeNode[], shape: Dim[], differentiable = inputs.some((i) => i.differentiable)): TapeNode {
    const node = new TapeNode(this.nodes.length, op, inputs, shape, differentiable);
    this.nodes.push(node);
    return node;
  }

  /** A graph input; `differentiable`: gradients are taken with respect to it. */
  input(name: string, shape: Dim[], differentiable: boolean): TapeNode {
    if (shape.filter((d) => d < 0).length > 1 || shape.some((d) => !Number.isInteger(d) || d === 0))
      throw new InvalidArgumentError(`input "${name}": shape [${shape.join(", ")}] must have nonzero integer sizes, at most one batch-dependent`);
    return this.push({ kind: "input", name }, [], shape, differentiable);
  }

  constant(key: string, make: () => WeightTensor): TapeNode {
    let c = this.constants.get(key);
    if (!c) {
      const value = make();
      c = this.push({ kind: "constant", key, value }, [], value.shape, false);
      this.constants.set(key, c);
    }
    return c;
  }

  matmul(a: TapeNode, b: TapeNode): TapeNode {
    const [sa, sb] = [a.shape, b.shape];
    if (sa.length < 2 || sb.length < 2 || sa[sa.length - 1] !== sb[sb.length - 2])
      throw new ShapeError(`matmul: [${sa.map(dimLabel).join(", ")}] @ [${sb.map(dimLabel).join(", ")}] do not multiply`);
    const lead = broadcast(sa.slice(0, -2), sb.slice(0, -2), "matmul");
    return this.push({ kind: "matmul" }, [a, b], [...lead, sa[sa.length - 2]!, sb[sb.length - 1]!]);
  }
  add(a: TapeNode, b: TapeNode): TapeNode {
    return this.push({ kind: "add" }, [a, b], broadcast(a.shape, b.shape, "add"));
  }
  mul(a: TapeNode, b: TapeNode): TapeNode {
    return this.push({ kind: "mul" }, [a, b], broadcast(a.shape, b.shape, "mul"));
  }
  sigmoid(x: TapeNode): TapeNode {
    return this.push({ kind: "sigmoid" }, [x], x.shape);
  }
  erf(x: TapeNode): TapeNode {
    return this.push({ kind: "erf" }, [x], x.shape);
  }
  layerNorm(x: TapeNode, gamma: TapeNode, beta: TapeNode, eps: number): TapeNode {
    return this.push({ kind: "layerNorm", eps }, [x, gamma, beta], x.shape);
  }
  softmax(x: TapeNode): TapeNode {
    return this.push({ kind: "softmax" }, [x], x.shape);
  }
  reshape(x: TapeNode, shape: number[]): TapeNode {
    return this.push({ kind: "reshape", shape }, [x], reshaped(x.shape, shape));
  }
  transpose(x: TapeNode, perm: number[]): TapeNode {
    if (perm.length !== x.shape.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i))
      throw new ShapeError(`transpose: perm [${perm.join(", ")}] is not a permutation of ${x.shape.length} axes`);
    return this.push(
      { kind: "transpose", perm },
      [x],
      perm.map((p) => x.shape[p]!),
    );
  }
  pad(x: TapeNode, before: number[], after: number[]): TapeNode {
    const shape = x.shape.map((d, i) => {
      const extra = (before[i] ?? 0) + (after[i] ?? 0);
      if (extra !== 0 && d < 0) throw new ShapeError(`pad: axis ${i} is batch-dependent`);
      return d + extra;
    });
    return this.push({ kind: "pad", before, after }, [x], shape);
  }
  slice(x: TapeNode, axis: number, start: number, end: number): TapeNode {
    const d = x.shape[axis];
    if (d === undefined || d < 0 || !(0 <= start && start < end && end <= d))
      throw new ShapeError(`slice: [${start}, ${end}) of axis ${axis} of [${x.shape.map(dimLabel).join(", ")}] (only fixed-size axes are sliced)`);
    return this.push(
      { kind: "slice", axis, start, end },
      [x],
      x.shape.map((s, i) => (i === axis ? end - start : s)),
    );
  }
  gather(table: TapeNode, ids: TapeNode): TapeNode {
    if (table.shape.length !== 2) throw new ShapeError(`gather: table must be [V, D], found [${table.shape.map(dimLabel).join(", ")}]`);
    return this.push({ kind: "gather" }, [table, ids], [...ids.shape, table.shape[1]!], table.differentiable);
  }
}

/** Runs one recorded (non-input, non-constant) op on another executor, given its inputs there. */
export function replay<S>(node: TapeNode, ops: ClipOps<S>, args: S[]): S {
  const op = node.op;
  const [a, b, c] = args as [S, S, S];
  switch (op.kind) {
    case "matmul":
      return ops.matmul(a, b);
    case "add":
      return ops.add(a, b);
    case "mul":
      return ops.mul(a, b);
    case "sigmoid":
      return ops.sigmoid(a);
    case "erf":
      return ops.erf(a);
    case "layerNorm":
      return ops.layerNorm(a, b, c, op.eps);
    case "softmax":
      return ops.softmax(a);
    case "reshape":
      return ops.reshape(a, op.shape);
    case "transpose":
      return ops.transpose(a, op.perm);
    case "pad":
      return ops.pad(a, op.before, op.after);
    case "slice":
      return ops.slice(a, op.axis, op.start, op.end);
    case "gather":
      return ops.gather(a, b);
    case "input":
    case "constant":
      throw new InvalidArgumentError(`replay: ${op.kind} nodes are bound by the caller, not replayed`);
  }
}
