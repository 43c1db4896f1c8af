/** The part of tsne-js (which ships no types) that tsne.ts uses. */
declare module "tsne-js" {
  interface NdArray2 {
    set(i: number, j: number, v: number): void;
  }
  export default class TSNE {
    constructor(config: { dim: number; perplexity: number; earlyExaggeration: number; learningRate: number; nIter: number; metric: "euclidean" });
    outputEmbedding: NdArray2;
    init(opts: { data: number[][]; type: "dense" }): void;
    run(): [number, number];
    getOutputScaled(): number[][];
  }
}
