/**
 * Export of a trained SimCLIP as ONE ONNX file, backbone and heads together: input
 * `pixel_values` [batch, 3, S, S] (the peers' transform: whole image resized to S x S, CLIP mean/std;
 * see src/clip/preprocess.ts preprocessSquare), outputs `anomaly_map` [batch, S, S] and `score` [batch].
 * onnxruntime (any language) runs it without this package. The prompts of one class are baked in.
 *
 * The vision tower comes from clip-model's architecture written against the ClipOps interface (its
 * ONNX executor); the heads are appended with the same builder, rewritten with ops ONNX has:
 * - cosine: F/|F| . t via LayerNormalization of [F, -F] (zero mean by construction, so LN divides by
 *   |F| / sqrt(E)); the adapter emits [F, -F] directly with weights [W | -W], bias [b | -b];
 * - bilinear upsampling (align_corners) as U X U^T, the Gaussian (sigma, scipy "reflect") as
 *   M X M^T, both with constant matrices;
 * - softmax over two prompts as the sigmoid of the logit difference (maps.ts).
 */
import { writeFile } from "node:fs/promises";
import { visionTower } from "../../clip/architecture.js";
import { OnnxGraphBuilder } from "../../clip/onnx/graph-builder.js";
import { bilinearMatrix } from "../common/upsample.js";
import { gaussianMatrix } from "../common/gaussian.js";
import type { SimClip } from "./model.js";

/** [rows, cols] -> [rows, 2 cols] as [A | -A]. */
function plusMinus(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * 2 * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      out[i * 2 * cols + j] = a[i * cols + j]!;
      out[i * 2 * cols + cols + j] = -a[i * cols + j]!;
    }
  }
  return out;
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j]!;
  return t;
}

export async function exportSimClipOnnx(m: SimClip, path: string, opts: { category: string }): Promise<void> {
  const { config: clip, weights } = m.backbone;
  const S = m.size;
  const g = m.grid;
  const P = g * g;
  const W = m.dims.visionWidth;
  const E = m.dims.embedDim;
  const scale = m.config.logitScale;
  await m.prepare([opts.category]);
  const { plain, refined } = m.promptEmbeddings([opts.category]);
  const ref = refined.dataSync() as Float32Array; // [1, 2, E]
  const pl = plain.dataSync() as Float32Array;
  plain.dispose();
  refined.dispose();
  const imgPrompts = m.config.imagePrompts === "plain" ? pl : ref;

  const b = new OnnxGraphBuilder(`simclip_${opts.category}_${S}`);
  const c = (key: string, data: Float32Array, shape: number[]) => b.constant(`simclip.${key}`, () => ({ data, shape }));
  const pixels = b.input("pixel_values", "float32", ["batch", 3, S, S]);
  const tower = visionTower(b, weights, clip, pixels, { grid: g, layers: m.layers, lnPost: false });

  const ones = c("ones", new Float32Array(2 * E).fill(1), [2 * E]);
  const zeros = c("zeros", new Float32Array(2 * E), [2 * E]);
  // LN([F, -F]) = [F, -F] sqrt(E) / |F|, so d = LN . [s (t1 - t0) / sqrt(E); 0] = s cos-difference.
  const v = new Float32Array(2 * E);
  for (let e = 0; e < E; e++) v[e] = (scale * (ref[E + e]! - ref[e]!)) / Math.sqrt(E);
  const diff = c("prompt_diff", v, [2 * E, 1]);
  const u = c("upsample", bilinearMatrix(S, g, true), [S, g]);
  const uT = c("upsample_t", transpose(bilinearMatrix(S, g, true), S, g), [g, S]);

  let sum: string | null = null;
  for (const layer of m.layers) {
    const tokens = b.slice(tower.hidden.get(layer)!, 1, 1, 1 + P); // class token dropped
    let both: string;
    if (m.mhva) {
      const w = m.mhva.weights.get(layer)!.dataSync() as Float32Array;
      const bias = m.mhva.biases.get(layer)!.dataSync() as Float32Array;
      both = b.add(b.matmul(tokens, c(`mhva.${layer}.weight`, plusMinus(w, W, E), [W, 2 * E])), c(`mhva.${layer}.bias`, plusMinus(bias, 1, E), [2 * E]));
    } else {
      const lnW = weights.get("visual.ln_post.weight")!;
      const lnB = weights.get("visual.ln_post.bias")!;
      const proj = weights.get("visual.proj")!.data;
      const ln = b.layerNorm(tokens, c("ln_post.weight", lnW.data, [W]), c("ln_post.bias", lnB.data, [W]), 1e-5);
      both = b.matmul(ln, c("fixed_projection", plusMinus(proj, W, E), [W, 2 * E]));
    }
    const d = b.reshape(b.matmul(b.layerNorm(both, ones, zeros, 1e-12), diff), [-1, g, g]);
    const p = b.sigmoid(b.matmul(b.matmul(u, d), uT));
    sum = sum ? b.add(sum, p) : p;
  }
  let map = sum!;
  if (m.config.sigma > 0) {
    const gm = gaussianMatrix(S, m.config.sigma);
    map = b.matmul(b.matmul(c("gauss", gm, [S, S]), map), c("gauss_t", transpose(gm, S, S), [S, S]));
  }
  b.output(map, "anomaly_map", ["batch", S, S]);

  const vp = m.visualProjection.dataSync() as Float32Array;
  const imgBoth = b.matmul(tower.pooled, c("visual_projection", plusMinus(vp, W, E), [W, 2 * E]));
  const prompts = new Float32Array(2 * E * 2);
  for (let e = 0; e < E; e++) for (let k = 0; k < 2; k++) prompts[e * 2 + k] = (scale * imgPrompts[k * E + e]!) / Math.sqrt(E);
  const logits = b.matmul(b.layerNorm(imgBoth, ones, zeros, 1e-12), c("image_prompts", prompts, [2 * E, 2]));
  b.output(b.reshape(b.slice(b.softmax(logits), 1, 1, 2), [-1]), "score", ["batch"]);
  await writeFile(path, b.toBytes());
}
