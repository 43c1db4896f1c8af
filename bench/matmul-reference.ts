/** The plain-MatMul rate every bench reports its ratio to (same run, same threads). */
import { OnnxGraphBuilder } from "../src/clip/onnx/graph-builder.js";
import { createOrtSession, ort } from "../src/clip/ort-executor.js";

/** The speed reference of the benches: a plain onnxruntime MatMul [m, k] @ [k, n] with constant weights, run in bursts. */
export async function matmulReference(m: number, k: number, n: number, threads: number) {
  const b = new OnnxGraphBuilder("matmul");
  const a = b.input("a", "float32", [m, k]);
  const w = new Float32Array(k * n).map((_, i) => ((i * 2654435761) % 1000) / 1e5);
  b.output(
    b.matmul(
      a,
      b.constant("w", () => ({ data: w, shape: [k, n] })),
    ),
    "y",
    [m, n],
  );
  const session = await createOrtSession(b.toBytes(), { threads });
  const feeds = { a: new ort.Tensor("float32", new Float32Array(m * k).fill(0.01), [m, k]) };
  await session.run(feeds);
  let runs = 0;
  let seconds = 0;
  return {
    async burst(s: number) {
      const t0 = performance.now();
      do {
        await session.run(feeds);
        runs++;
      } while (performance.now() - t0 < s * 1000);
      seconds += (performance.now() - t0) / 1000;
    },
    gflops: () => (2 * m * k * n * runs) / seconds / 1e9,
    release: () => session.release(),
  };
}
