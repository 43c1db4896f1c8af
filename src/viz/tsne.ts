/**
 * t-SNE embedding (Figure 5) with tsne-js, made reproducible: tsne-js draws its initial embedding
 * from Math.random, so it is replaced, before running, by the same N(0, 1e-4^2) draw from a seeded
 * generator.
 */
import TSNE from "tsne-js";
import { createRng } from "../data/random.js";
import { InvalidArgumentError, ShapeError } from "../errors.js";

export interface TsneOptions {
  perplexity?: number;
  iterations?: number;
  /**
   * Default max(n / 16, 10): with tsne-js' gradient scale, rates of 50 and up already mix distinct
   * clusters of 24 points, and its own default (1000) scatters them; 10-30 separated every case
   * tried (24-200 points), and larger sets converge faster with a proportionally larger rate.
   */
  learningRate?: number;
  seed?: number;
}

/** Embeds n points of dimension dim (row-major) into 2-D; returns [n][2], each axis scaled to [-1, 1]. */
export function tsne2d(data: ArrayLike<number>, n: number, dim: number, opts: TsneOptions = {}): [number, number][] {
  if (data.length !== n * dim) throw new ShapeError(`tsne2d: ${data.length} values, expected n * dim = ${n} * ${dim}`);
  const perplexity = opts.perplexity ?? Math.min(30, Math.max(2, Math.floor((n - 1) / 3)));
  if (n < 3 || perplexity >= n)
    throw new InvalidArgumentError(`tsne2d: ${n} points with perplexity ${perplexity}; t-SNE needs more points than the perplexity (at least 3)`);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from({ length: dim }, (_, j) => data[i * dim + j]!));
  const earlyExaggeration = 4;
  const learningRate = opts.learningRate ?? Math.max(n / 16, 10);
  const model = new TSNE({ dim: 2, perplexity, earlyExaggeration, learningRate, nIter: opts.iterations ?? 500, metric: "euclidean" });
  model.init({ data: rows, type: "dense" });
  const rng = createRng("tsne", opts.seed ?? 0);
  for (let i = 0; i < n; i++) for (let d = 0; d < 2; d++) model.outputEmbedding.set(i, d, rng.normal() * 1e-4);
  model.run();
  return model.getOutputScaled() as [number, number][];
}
