/**
 * Reverse-mode differentiation of a recorded tape (`tape.ts`) into two ONNX graphs that onnxruntime
 * runs: gradients with respect to the tape's differentiable inputs only (the frozen weights never get
 * one, so no weight-gradient GEMM is ever emitted).
 *
 * - forward: the tape's inputs -> the requested outputs, plus "residuals": the values the backward
 *   pass reads that are expensive to recompute, i.e. the outputs of MatMuls (or of MatMul + bias,
 *   kept as one value so onnxruntime still fuses the pair into a Gemm) and of softmax.
 * - backward: the residuals, the forward inputs the adjoints read, and one upstream gradient
 *   `grad_<output>` per output -> `grad_<input>` per differentiable input. Everything cheap that an
 *   adjoint needs (LayerNorm statistics, softmax, sigmoid, the residual stream's sums) is recomputed
 *   from the residuals inside this graph instead of being stored.
 *
 * The split makes a training step cost one forward and one backward of the tower (the backward being
 * about one forward's GEMMs, as only input gradients are formed), the same work as PyTorch's autograd
 * with frozen weights, at the price of handing the residuals from one run to the next.
 */
import { InvalidArgumentError } from "../../errors.js";
import { OnnxGraphBuilder } from "../onnx/graph-builder.js";
import type { WeightTensor } from "../weights.js";
import { type Dim, type Tape, type TapeNode, dimLabel, replay, reshapeSpec } from "./tape.js";

export interface VjpGraphs {
  forward: Uint8Array;
  backward: Uint8Array;
  /** Forward outputs to hand to the backward graph as inputs of the same names, with their shapes. */
  residuals: { name: string; shape: Dim[] }[];
  /** Forward inputs the backward graph reads too (fed with the same tensors). */
  sharedInputs: string[];
  /** The backward graph's outputs, `grad_<input>` for each differentiable input. */
  gradients: string[];
}

export interface VjpOutput {
  name: string;
  node: TapeNode;
}

export const gradName = (name: string): string => `grad_${name}`;

const dims = (shape: Dim[]) => shape.map(dimLabel);
const sameShape = (a: Dim[], b: Dim[]) => a.length === b.length && a.every((d, i) => d === b[i]);

function transpose2d(w: WeightTensor): WeightTensor {
  const [r, c] = w.shape as [number, number];
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = w.data[i * c + j]!;
  return { data: out, shape: [c, r] };
}

class Transform {
  readonly b: OnnxGraphBuilder;
  private readonly consumers = new Map<TapeNode, TapeNode[]>();
  /** Forward values available in the backward graph. */
  private readonly values = new Map<TapeNode, string>();
  readonly residuals = new Map<TapeNode, string>();
  readonly sharedInputs = new Set<TapeNode>();
  private readonly grads = new Map<TapeNode, string>();

  constructor(
    name: string,
    private readonly tape: Tape,
  ) {
    this.b = new OnnxGraphBuilder(`${name}_backward`);
    for (const n of tape.nodes) {
      for (const i of n.inputs) {
        const users = this.consumers.get(i);
        if (users) users.push(n);
        else this.consumers.set(i, [n]);
      }
    }
  }

  /** A MatMul whose only consumer adds a constant (a bias): the pair is stored as one residual. */
  private biasAddOf(node: TapeNode): TapeNode | undefined {
    const users = this.consumers.get(node) ?? [];
    const user = users[0];
    if (node.op.kind !== "matmul" || users.length !== 1 || user!.op.kind !== "add") return undefined;
    const other = user!.inputs[0] === node ? user!.inputs[1]! : user!.inputs[0]!;
    return other.op.kind === "constant" ? user : undefined;
  }

  /** Stored rather than recomputed: MatMul outputs (with their bias), and softmax's (exp-heavy, read twice). */
  private isResidual(node: TapeNode): boolean {
    if (node.op.kind === "softmax") return true;
    if (node.op.kind === "matmul") return this.biasAddOf(node) === undefined;
    return node.op.kind === "add" && node.inputs.some((i) => this.biasAddOf(i) === node);
  }

  /** The forward value of `node` inside the backward graph: bound, handed over, or recomputed. */
  value(node: TapeNode): string {
    let v = this.values.get(node);
    if (v !== undefined) return v;
    const op = node.op;
    if (op.kind === "input") {
      v = this.b.input(op.name, "float32", dims(node.shape));
      this.sharedInputs.add(node);
    } else if (op.kind === "constant") {
      v = this.b.constant(op.key, () => op.value);
    } else if (this.isResidual(node)) {
      v = this.b.input(`residual_${node.id}`, "float32", dims(node.shape));
      this.residuals.set(node, v);
    } else {
      v = replay(
        node,
        this.b,
        node.inputs.map((i) => this.value(i)),
      );
    }
    this.values.set(node, v);
    return v;
  }

  /** Adds a contribution to `node`'s adjoint; built only if `node` needs one (no dead nodes in the graph). */
  private accumulate(node: TapeNode, g: () => string): void {
    if (!node.differentiable) return;
    const prev = this.grads.get(node);
    this.grads.set(node, prev === undefined ? g() : this.b.add(prev, g()));
  }

  /** Sums `g` (of shape `from`) over the axes along which `to` was broadcast, giving shape `to`. */
  private unbroadcast(g: string, from: Dim[], to: Dim[]): string {
    if (sameShape(from, to)) return g;
    const lead = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
    return this.b.reshape(axes.length ? this.b.reduceSum(g, axes, true) : g, reshapeSpec(to));
  }

  /**
   * x with its last two axes swapped; a constant matrix is transposed once, ahead of time, and a
   * transposed value (attention's q, k, v) is read through one composed Transpose instead of two.
   */
  private swapLast(x: TapeNode): string {
    const op = x.op;
    if (op.kind === "constant" && x.shape.length === 2) return this.b.constant(`${op.key}^T`, () => transpose2d(op.value));
    const r = x.shape.length;
    const swap = [...Array(r - 2).keys(), r - 1, r - 2];
    if (op.kind === "transpose" && !this.values.has(x))
      return this.b.transpose(
        this.value(x.inputs[0]!),
        swap.map((i) => op.perm[i]!),
      );
    return this.b.transpose(this.value(x), swap);
  }

  private adjoint(node: TapeNode, g: string): void {
    const { b } = this;
    const op = node.op;
    const [x, y] = node.inputs as [TapeNode, TapeNode];
    switch (op.kind) {
      case "matmul": {
        const lead = node.shape.slice(0, -2);
        this.accumulate(x, () => this.unbroadcast(b.matmul(g, this.swapLast(y)), [...lead, ...x.shape.slice(-2)], x.shape));
        this.accumulate(y, () => this.unbroadcast(b.matmul(this.swapLast(x), g), [...lead, ...y.shape.slice(-2)], y.shape));
        return;
      }
      case "add":
        for (const i of node.inputs) this.accumulate(i, () => this.unbroadcast(g, node.shape, i.shape));
        return;
      case "mul":
        this.accumulate(x, () => this.unbroadcast(b.mul(g, this.value(y)), node.shape, x.shape));
        this.accumulate(y, () => this.unbroadcast(b.mul(g, this.value(x)), node.shape, y.shape));
        return;
      case "sigmoid": {
        const s = this.value(node);
        this.accumulate(x, () => b.mul(g, b.mul(s, b.sub(b.scalar(1), s))));
        return;
      }
      case "erf": {
        const v = this.value(x);
        this.accumulate(x, () => b.mul(g, b.mul(b.scalar(2 / Math.sqrt(Math.PI)), b.exp(b.mul(b.mul(v, v), b.scalar(-1))))));
        return;
      }
      case "layerNorm": {
        if (node.inputs[1]!.differentiable || node.inputs[2]!.differentiable)
          throw new InvalidArgumentError(
            "reverse mode: gradients with respect to LayerNorm's scale and shift are not implemented (they are frozen weights here)",
          );
        // One fused kernel recomputes the normalised input and 1 / std (ten elementwise ops otherwise).
        const [xhat, rstd] = b.normalizeWithInvStd(this.value(x), x.shape[x.shape.length - 1]!, op.eps);
        const gh = b.mul(g, this.value(node.inputs[1]!));
        const inner = b.sub(b.sub(gh, b.reduceMean(gh, [-1], true)), b.mul(xhat, b.reduceMean(b.mul(gh, xhat), [-1], true)));
        this.accumulate(x, () => b.mul(rstd, inner));
        return;
      }
      case "softmax": {
        const p = this.value(node);
        this.accumulate(x, () => b.mul(p, b.sub(g, b.reduceSum(b.mul(g, p), [-1], true))));
        return;
      }
      case "reshape":
        this.accumulate(x, () => b.reshape(g, reshapeSpec(x.shape)));
        return;
      case "transpose": {
        const inverse: number[] = [];
        op.perm.forEach((p, i) => {
          inverse[p] = i;
        });
        this.accumulate(x, () => b.transpose(g, inverse));
        return;
      }
      case "pad": {
        let s = g;
        x.shape.forEach((d, i) => {
          const lo = op.before[i] ?? 0;
          if (lo !== 0 || (op.after[i] ?? 0) !== 0) s = b.slice(s, i, lo, lo + d);
        });
        this.accumulate(x, () => s);
        return;
      }
      case "slice":
        this.accumulate(x, () =>
          b.pad(
            g,
            x.shape.map((_, i) => (i === op.axis ? op.start : 0)),
            x.shape.map((d, i) => (i === op.axis ? d - op.end : 0)),
          ),
        );
        return;
      case "gather":
        throw new InvalidArgumentError(
          "reverse mode: gradients with respect to a gathered table are not implemented (differentiate with respect to the looked-up embeddings)",
        );
      case "input":
      case "constant":
        return;
    }
  }

  /** Seeds the outputs' upstream gradients and runs the adjoints in reverse tape order. */
  run(outputs: VjpOutput[]): string[] {
    for (const o of outputs) {
      const upstream = this.b.input(gradName(o.name), "float32", dims(o.node.shape));
      this.accumulate(o.node, () => upstream);
    }
    for (let i = this.tape.nodes.length - 1; i >= 0; i--) {
      const node = this.tape.nodes[i]!;
      const g = this.grads.get(node);
      if (g !== undefined && node.op.kind !== "input") this.adjoint(node, g);
    }
    const names: string[] = [];
    for (const node of this.tape.nodes) {
      if (node.op.kind !== "input" || !node.differentiable) continue;
      const g = this.grads.get(node);
      if (g === undefined) throw new InvalidArgumentError(`reverse mode: no output depends on input "${node.op.name}"`);
      names.push(gradName(node.op.name));
      this.b.output(g, gradName(node.op.name), dims(node.shape));
    }
    return names;
  }
}

/** The forward graph: the tape's inputs -> `outputs`, replaying only the ops they need. */
function forwardGraph(name: string, tape: Tape, outputs: VjpOutput[]): Uint8Array {
  const needed = new Set<TapeNode>();
  const stack = outputs.map((o) => o.node);
  while (stack.length) {
    const n = stack.pop()!;
    if (needed.has(n)) continue;
    needed.add(n);
    stack.push(...n.inputs);
  }
  const f = new OnnxGraphBuilder(name);
  const values = new Map<TapeNode, string>();
  for (const node of tape.nodes) {
    if (!needed.has(node)) continue;
    const op = node.op;
    values.set(
      node,
      op.kind === "input"
        ? f.input(op.name, "float32", dims(node.shape))
        : op.kind === "constant"
          ? f.constant(op.key, () => op.value)
          : replay(
              node,
              f,
              node.inputs.map((i) => values.get(i)!),
            ),
    );
  }
  for (const o of outputs) f.outputInPlace(values.get(o.node)!, o.name, dims(o.node.shape));
  return f.toBytes();
}

/** Forward (outputs + residuals) and backward (vector-Jacobian product) graphs of `outputs` on `tape`. */
export function buildVjpGraphs(name: string, tape: Tape, outputs: VjpOutput[]): VjpGraphs {
  const t = new Transform(name, tape);
  const gradients = t.run(outputs);
  const residuals = [...t.residuals].map(([node, n]) => ({ name: n, node }));
  return {
    forward: forwardGraph(name, tape, [...outputs, ...residuals]),
    backward: t.b.toBytes(),
    residuals: residuals.map((r) => ({ name: r.name, shape: r.node.shape })),
    sharedInputs: [...t.sharedInputs].map((n) => (n.op as { name: string }).name),
    gradients,
  };
}
