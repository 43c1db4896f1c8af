/**
 * Checkpoints of any method: `<dir>/weights.safetensors` (the method's float32 tensors, bit-exact) and
 * `<dir>/config.json` (method name, its config, the backbone's fingerprint and MLP activation).
 * Writes are atomic per file (safetensors writer renames a temp file; config likewise), and the config
 * is written last, so a directory with a config always has complete weights.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { FileFormatError, MissingFileError, SimclipError } from "../../errors.js";
import { readSafetensors, writeSafetensors } from "../../clip/safetensors.js";
import { tf } from "../../tf.js";
import { variableKey } from "./init.js";
import type { ClipActivation } from "../../clip/config.js";
import type { MethodState } from "./types.js";

export const CHECKPOINT_WEIGHTS = "weights.safetensors";
export const CHECKPOINT_CONFIG = "config.json";
const FORMAT = "simclip-checkpoint";

/** A checkpoint that does not fit the model it is being loaded into (other backbone, method or dims). */
export class CheckpointMismatchError extends SimclipError {
  override name = "CheckpointMismatchError";
  constructor(
    readonly where: string,
    detail: string,
  ) {
    super(`${where}: cannot load this checkpoint: ${detail}`);
  }
}

/** Trainable variables as checkpoint tensors, keyed by `variableKey` (the inverse of restoreTrainableVariables). */
export function variableTensors(vars: tf.Variable[]): MethodState["tensors"] {
  const tensors: MethodState["tensors"] = new Map();
  for (const v of vars) tensors.set(variableKey(v), { data: v.dataSync() as Float32Array, shape: [...v.shape] });
  return tensors;
}

/** The baselines' check that a checkpoint was trained on the backbone it is being loaded into. */
export function checkCheckpointBackbone(savedFingerprint: string, backboneFingerprint: string, where: string): void {
  if (savedFingerprint !== backboneFingerprint) {
    throw new CheckpointMismatchError(where, "it was trained on another backbone (weights fingerprint differs): pass the --model used for training");
  }
}

/**
 * Assign a checkpoint's tensors to a freshly built model's trainable variables (matched by
 * `variableKey`); a missing or mis-shaped tensor disposes the model and is a CheckpointMismatchError.
 */
export function restoreTrainableVariables(
  model: { trainableVariables(): tf.Variable[]; dispose(): void },
  tensors: MethodState["tensors"],
  where: string,
): void {
  for (const v of model.trainableVariables()) {
    const t = tensors.get(variableKey(v));
    if (!t || t.shape.join(",") !== v.shape.join(",")) {
      model.dispose();
      throw new CheckpointMismatchError(where, `tensor "${variableKey(v)}" is missing or has shape [${t?.shape ?? ""}], this model needs [${v.shape}]`);
    }
    tf.tidy(() => v.assign(tf.tensor(t.data, v.shape)));
  }
}

interface CheckpointConfigFile {
  format: typeof FORMAT;
  version: 1;
  method: string;
  backboneFingerprint: string;
  /** The backbone's MLP activation during training (absent in checkpoints written before it was recorded). */
  activation?: ClipActivation;
  config: Record<string, unknown>;
  savedAt: string;
}

/** What a checkpoint records of the backbone it was trained on. */
export interface CheckpointBackbone {
  readonly fingerprint: string;
  readonly config: { readonly activation: ClipActivation };
}

export async function saveCheckpoint(dir: string, state: MethodState, backbone: CheckpointBackbone): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeSafetensors(path.join(dir, CHECKPOINT_WEIGHTS), state.tensors, { format: FORMAT, method: state.method });
  const file: CheckpointConfigFile = {
    format: FORMAT,
    version: 1,
    method: state.method,
    backboneFingerprint: backbone.fingerprint,
    activation: backbone.config.activation,
    config: state.config,
    savedAt: new Date().toISOString(),
  };
  const cfg = path.join(dir, CHECKPOINT_CONFIG);
  const tmp = `${cfg}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(file, null, 2)}\n`);
  await rename(tmp, cfg);
}

export interface LoadedCheckpoint {
  dir: string;
  state: MethodState;
  backboneFingerprint: string;
  /** The backbone activation it was trained with, when recorded: load the backbone with it. */
  activation?: ClipActivation;
}

export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const cfgPath = path.join(dir, CHECKPOINT_CONFIG);
  let text: string;
  try {
    text = await readFile(cfgPath, "utf8");
  } catch {
    throw new MissingFileError(
      cfgPath,
      `no checkpoint config here: pass the --out directory of "simclip train" (it holds ${CHECKPOINT_CONFIG} and ${CHECKPOINT_WEIGHTS})`,
    );
  }
  let file: CheckpointConfigFile;
  try {
    file = JSON.parse(text) as CheckpointConfigFile;
  } catch (e) {
    throw new FileFormatError(cfgPath, `not valid JSON (${(e as Error).message})`);
  }
  if (file.format !== FORMAT || file.version !== 1 || typeof file.method !== "string") {
    throw new FileFormatError(
      cfgPath,
      `expected a ${FORMAT} version 1 config with a "method", found format=${String(file.format)} version=${String(file.version)}`,
    );
  }
  const tensors = await readSafetensors(path.join(dir, CHECKPOINT_WEIGHTS));
  return {
    dir,
    backboneFingerprint: file.backboneFingerprint,
    ...(file.activation ? { activation: file.activation } : {}),
    state: { method: file.method, config: file.config, tensors },
  };
}
