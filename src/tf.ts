/**
 * The one place that chooses the TensorFlow.js backend, so every trainable path runs on the same one.
 *
 * tfjs-node cannot be installed on machines without access to Google's storage (its install script
 * downloads libtensorflow), so the default is the WebAssembly backend, ~20x faster than tfjs' pure-JS
 * CPU backend. If a user has `@tensorflow/tfjs-node` installed it is picked up instead.
 */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";
import path from "node:path";
import { SimclipError } from "./errors.js";

export { tf };

let ready: Promise<string> | undefined;

/** Initialise tfjs once; resolves to the backend name ("tensorflow" with tfjs-node, else "wasm"). */
export function tfReady(): Promise<string> {
  ready ??= init();
  return ready;
}

async function init(): Promise<string> {
  const require = createRequire(import.meta.url);
  if (isInstalled(require, "@tensorflow/tfjs-node")) {
    // Installed but broken is an error, not a reason to quietly run 20x slower.
    await import("@tensorflow/tfjs-node" as string);
    await tf.setBackend("tensorflow");
  } else {
    const wasm = require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm");
    setWasmPaths(path.dirname(wasm) + path.sep);
    if (!(await tf.setBackend("wasm"))) {
      throw new SimclipError(
        `TensorFlow.js: the wasm backend failed to initialise (wasm files from ${path.dirname(wasm)}); reinstall @tensorflow/tfjs-backend-wasm, or install @tensorflow/tfjs-node`,
      );
    }
  }
  await tf.ready();
  return tf.getBackend();
}

function isInstalled(require: NodeRequire, name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}
