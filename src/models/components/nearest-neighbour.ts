/**
 * Exact nearest-neighbour search by cosine similarity, the "NearestNeighborAlgorithm" of the paper's
 * Algorithm 1 (the authors' code: sklearn `pairwise.cosine_similarity(memory, query)` then max /
 * argmax over the memory axis).
 *
 * Rows are L2-normalised once in JS; the search is then one MatMul [n, W] @ [W, m] followed by
 * ReduceMax and ArgMax over the memory axis, all inside one onnxruntime graph, so only two [n]
 * vectors come back instead of the [n, m] similarity matrix (30 MB per image and layer at ViT-L/14
 * 4-shot shapes). onnxruntime's MatMul runs ~8x faster than tfjs-wasm here (docs/performance.md).
 * ArgMax keeps the first index on ties, as numpy's argmax does.
 */
import type { InferenceSession } from "onnxruntime-node";
import { encodeOnnxModel, OnnxDataType } from "../../clip/onnx/model-proto.js";
import { createOrtSession, ort } from "../../clip/ort-executor.js";
import { InvalidArgumentError, ShapeError } from "../../errors.js";

export interface NeighbourResult {
  /** [n] cosine similarity of each query row to its nearest memory row. */
  maxCos: Float32Array;
  /** [n] index of that memory row (the first one on ties). */
  index: Int32Array;
}

let session: Promise<InferenceSession> | undefined;

function nearestNeighbourGraph(): Uint8Array {
  return encodeOnnxModel({
    name: "simclip_plus_nearest_neighbour",
    nodes: [
      { opType: "MatMul", inputs: ["query", "memoryT"], outputs: ["cos"] },
      // Opset 17: ReduceMax takes its axes as an attribute.
      { opType: "ReduceMax", inputs: ["cos"], outputs: ["maxCos"], attributes: { axes: { type: "ints", value: [1] }, keepdims: { type: "int", value: 0 } } },
      { opType: "ArgMax", inputs: ["cos"], outputs: ["index"], attributes: { axis: { type: "int", value: 1 }, keepdims: { type: "int", value: 0 } } },
    ],
    initializers: [],
    inputs: [
      { name: "query", dataType: OnnxDataType.FLOAT, dims: ["n", "w"] },
      { name: "memoryT", dataType: OnnxDataType.FLOAT, dims: ["w", "m"] },
    ],
    outputs: [
      { name: "maxCos", dataType: OnnxDataType.FLOAT, dims: ["n"] },
      { name: "index", dataType: OnnxDataType.INT64, dims: ["n"] },
    ],
  });
}

/**
 * Rows of a row-major [rows, width] array divided by their L2 norm (a new array). A zero row has no
 * direction, so it is an error rather than a silent NaN (sklearn would leave it at 0 similarity).
 */
export function normalizeRowsArray(x: Float32Array, rows: number, width: number, what: string): Float32Array {
  if (x.length !== rows * width) throw new ShapeError(`${what}: ${x.length} values, expected ${rows} x ${width}`);
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = r * width; k < (r + 1) * width; k++) s += x[k]! * x[k]!;
    if (!(s > 0) || !Number.isFinite(s)) {
      throw new InvalidArgumentError(
        `${what}: row ${r} has norm ${Math.sqrt(s)}; cosine similarity needs finite, non-zero feature vectors (check the cached features)`,
      );
    }
    const inv = 1 / Math.sqrt(s);
    for (let k = r * width; k < (r + 1) * width; k++) out[k] = x[k]! * inv;
  }
  return out;
}

/**
 * Nearest memory row of every query row. `query` [n, width] and `memoryT` [width, m] must already be
 * L2-normalised (rows of the query, columns of memoryT), so the product is the cosine similarity.
 */
export async function nearestNeighbours(query: Float32Array, n: number, memoryT: Float32Array, m: number, width: number): Promise<NeighbourResult> {
  if (query.length !== n * width) throw new ShapeError(`nearestNeighbours: query has ${query.length} values, expected ${n} x ${width}`);
  if (memoryT.length !== width * m || m === 0)
    throw new ShapeError(`nearestNeighbours: memoryT has ${memoryT.length} values, expected ${width} x ${m} (m > 0)`);
  session ??= createOrtSession(nearestNeighbourGraph());
  const out = await (await session).run({
    query: new ort.Tensor("float32", query, [n, width]),
    memoryT: new ort.Tensor("float32", memoryT, [width, m]),
  });
  const index = Int32Array.from(out.index!.data as BigInt64Array, (v) => Number(v));
  return { maxCos: out.maxCos!.data as Float32Array, index };
}
