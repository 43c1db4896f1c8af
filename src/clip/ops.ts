/**
 * The tensor operations CLIP's towers are written against (`architecture.ts`). Three executors
 * implement them: `onnx/graph-builder.ts` emits ONNX nodes (inference on onnxruntime), `tfjs-ops.ts`
 * calls TensorFlow.js eagerly (differentiable on tfjs' tape), and `autodiff/tape.ts` records the ops
 * so that `autodiff/vjp-graphs.ts` can emit the reverse-mode gradient as ONNX graphs too. `T` is the
 * executor's tensor handle.
 *
 * Shapes given to `reshape` use -1 for the (dynamic) batch dimension and concrete sizes elsewhere,
 * so one graph serves every batch size.
 */
import type { WeightTensor } from "./weights.js";

export interface ClipOps<T> {
  /** A frozen parameter or constant. `key` names it; `make` runs at most once per key and executor. */
  constant(key: string, make: () => WeightTensor): T;
  /** Batched matrix product with numpy broadcasting of the leading dimensions. */
  matmul(a: T, b: T): T;
  add(a: T, b: T): T;
  mul(a: T, b: T): T;
  sigmoid(x: T): T;
  /** The Gauss error function, elementwise (exact GELU). */
  erf(x: T): T;
  /** LayerNorm over the last axis (biased variance, as torch.nn.LayerNorm). */
  layerNorm(x: T, gamma: T, beta: T, eps: number): T;
  /** Softmax over the last axis. */
  softmax(x: T): T;
  reshape(x: T, shape: number[]): T;
  transpose(x: T, perm: number[]): T;
  /** Zero padding: `before[i]` / `after[i]` elements on axis i. */
  pad(x: T, before: number[], after: number[]): T;
  /** x[..., start:end, ...] along `axis`. */
  slice(x: T, axis: number, start: number, end: number): T;
  /** Row lookup: table [V, D] indexed by integer ids [...] gives [..., D]. */
  gather(table: T, ids: T): T;
}
