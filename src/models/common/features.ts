/** Packing cached per-image features into the batched tensors the heads consume. */
import { tf } from "../../tf.js";
import { ShapeError } from "../../errors.js";
import type { ImageFeatures, TrainItem } from "./types.js";

/** One layer's patch tokens of n images, stacked: [n * P, W] (a copy; the cache's arrays are left alone). */
export function stackLayerTokens(features: ImageFeatures[], layer: number): Float32Array {
  const first = features[0];
  if (!first) throw new ShapeError(`stackLayerTokens: expected at least one image's features for layer ${layer}, got an empty batch`);
  const per = first.grid * first.grid * first.width;
  const out = new Float32Array(per * features.length);
  features.forEach((f, i) => {
    const t = f.patchTokens.get(layer);
    if (!t) {
      throw new ShapeError(`cached features have no layer ${layer} (they hold ${[...f.patchTokens.keys()].join(", ")}): rebuild the cache with this layer`);
    }
    if (t.length !== per) {
      throw new ShapeError(
        `layer ${layer} tokens of image ${i}: ${t.length} values, expected ${first.grid}x${first.grid} patches x ${first.width} (all images of a batch must share size and backbone)`,
      );
    }
    out.set(t, i * per);
  });
  return out;
}

/** Pooled class tokens of n images: [n, W]. */
export function stackPooled(features: ImageFeatures[]): tf.Tensor2D {
  const w = features[0]!.width;
  const out = new Float32Array(w * features.length);
  features.forEach((f, i) => {
    if (f.pooled.length !== w) throw new ShapeError(`pooled feature of image ${i} has ${f.pooled.length} values, expected ${w}`);
    out.set(f.pooled, i * w);
  });
  return tf.tensor2d(out, [features.length, w]);
}

/** [rows, cols] row-major -> its transpose [cols, rows], blocked for cache locality (for constants prepared in JS). */
export function transposeArray(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(r0 + B, rows);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(c0 + B, cols);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) t[c * rows + r] = a[r * cols + c]!;
    }
  }
  return t;
}

/**
 * Rows of `table` [u, ...] picked per image by `index` (length n), as a one-hot [n, u] matMul:
 * tf.gather's gradient needs UnsortedSegmentSum, which the wasm backend lacks.
 */
export function selectRows(table: tf.Tensor, index: number[]): tf.Tensor {
  return tf.tidy(() => {
    const [u, ...rest] = table.shape;
    const onehot = new Float32Array(index.length * u);
    index.forEach((k, i) => {
      onehot[i * u + k] = 1;
    });
    const flat = tf.reshape(table, [u, -1]) as tf.Tensor2D;
    return tf.reshape(tf.matMul(tf.tensor2d(onehot, [index.length, u]), flat), [index.length, ...rest]);
  });
}

/** The training masks of `items` stacked into [n, size, size], each checked to be size x size. */
export function stackMasks(items: TrainItem[], size: number, method: string): Float32Array {
  const masks = new Float32Array(items.length * size * size);
  items.forEach((it, i) => {
    if (it.mask.length !== size * size) {
      throw new ShapeError(
        `${method}: training mask of a "${it.category}" image has ${it.mask.length} pixels, expected ${size}x${size} (load masks at the model's --size)`,
      );
    }
    masks.set(it.mask, i * size * size);
  });
  return masks;
}
