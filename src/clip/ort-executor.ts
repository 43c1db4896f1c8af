/**
 * onnxruntime-node sessions for frozen inference: fp32, intra-op threads = cores by default, full
 * graph optimisation (ORT fuses x * sigmoid(1.702 x) into QuickGelu and pre-packs the constant
 * MatMul weights), CPU or, when asked, CUDA.
 */
import os from "node:os";
import * as ort from "onnxruntime-node";
import { InvalidArgumentError, SimclipError } from "../errors.js";
import { OnnxGraphBuilder } from "./onnx/graph-builder.js";

export type ExecutionProviderName = "cpu" | "cuda";

export interface OrtSessionOptions {
  /** Intra-op threads; default: all cores (`os.availableParallelism()`). */
  threads?: number;
  executionProvider?: ExecutionProviderName;
}

/** The CUDA execution provider was asked for but this onnxruntime-node build cannot provide it. */
export class ExecutionProviderUnavailableError extends SimclipError {
  override name = "ExecutionProviderUnavailableError";
}

export function defaultThreads(): number {
  return os.availableParallelism();
}

export async function createOrtSession(model: Uint8Array, opts: OrtSessionOptions = {}): Promise<ort.InferenceSession> {
  const threads = opts.threads ?? defaultThreads();
  if (!Number.isInteger(threads) || threads < 1) throw new InvalidArgumentError(`threads must be a positive integer, got ${threads}`);
  const ep = opts.executionProvider ?? "cpu";
  if (ep !== "cpu" && ep !== "cuda") throw new InvalidArgumentError(`executionProvider must be "cpu" or "cuda", got ${JSON.stringify(ep)}`);
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [ep],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  };
  if (ep === "cuda") {
    try {
      return await ort.InferenceSession.create(model, options);
    } catch (err) {
      throw new ExecutionProviderUnavailableError(
        `executionProvider "cuda" was requested but onnxruntime-node could not start it (${(err as Error).message.split("\n")[0]}). ` +
          `This install has the CPU build (ONNXRUNTIME_NODE_INSTALL=skip). For the CUDA build, on a machine with CUDA 12 and cuDNN 9, ` +
          `fetch it with \`ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js\`, or use executionProvider "cpu".`,
      );
    }
  }
  return ort.InferenceSession.create(model, options);
}

export { ort };

/** Fails now (not at the first image) when the requested execution provider cannot start. */
export async function checkExecutionProvider(opts: OrtSessionOptions): Promise<void> {
  if ((opts.executionProvider ?? "cpu") === "cpu") return;
  const b = new OnnxGraphBuilder("probe");
  b.output(b.input("x", "float32", [1]), "y", [1]);
  await (await createOrtSession(b.toBytes(), { ...opts, threads: 1 })).release();
}
