/**
 * The TensorFlow.js executor of `ClipOps`: eager and differentiable on tfjs' tape (the reference for
 * the reverse-mode onnxruntime graphs of `autodiff/`). Frozen parameters are created once per
 * `TfClipOps` and reused across calls; call `dispose()` to free them.
 */
import { tf } from "../tf.js";
import type { ClipOps } from "./ops.js";
import type { WeightTensor } from "./weights.js";

export class TfClipOps implements ClipOps<tf.Tensor> {
  private readonly constants = new Map<string, tf.Tensor>();

  constant(key: string, make: () => WeightTensor): tf.Tensor {
    let t = this.constants.get(key);
    if (!t) {
      const w = make();
      t = tf.keep(tf.tensor(w.data, w.shape, "float32"));
      this.constants.set(key, t);
    }
    return t;
  }

  matmul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    // tfjs matMul needs equal ranks; a [.., m, k] @ b [k, n] is one 2-D GEMM over the flattened rows.
    if (b.rank === 2 && a.rank > 2) {
      const k = a.shape[a.rank - 1]!;
      const flat = tf.matMul(a.reshape([-1, k]), b as tf.Tensor2D);
      return flat.reshape([...a.shape.slice(0, -1), b.shape[1]!]);
    }
    return tf.matMul(a, b);
  }
  add(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.add(a, b);
  }
  mul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.mul(a, b);
  }
  sigmoid(x: tf.Tensor): tf.Tensor {
    return tf.sigmoid(x);
  }
  erf(x: tf.Tensor): tf.Tensor {
    return tf.erf(x);
  }
  layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
    const axis = x.rank - 1;
    const centred = tf.sub(x, tf.mean(x, axis, true));
    const variance = tf.mean(tf.square(centred), axis, true);
    return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
  }
  softmax(x: tf.Tensor): tf.Tensor {
    return tf.softmax(x);
  }
  reshape(x: tf.Tensor, shape: number[]): tf.Tensor {
    return tf.reshape(x, shape);
  }
  transpose(x: tf.Tensor, perm: number[]): tf.Tensor {
    return tf.transpose(x, perm);
  }
  pad(x: tf.Tensor, before: number[], after: number[]): tf.Tensor {
    return tf.pad(
      x,
      before.map((b, i) => [b, after[i]!] as [number, number]),
    );
  }
  slice(x: tf.Tensor, axis: number, start: number, end: number): tf.Tensor {
    const begin = x.shape.map((_, i) => (i === axis ? start : 0));
    const size = x.shape.map((d, i) => (i === axis ? end - start : d));
    return tf.slice(x, begin, size);
  }
  gather(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
    return tf.gather(table, ids.toInt(), 0);
  }

  dispose(): void {
    for (const t of this.constants.values()) t.dispose();
    this.constants.clear();
  }
}
