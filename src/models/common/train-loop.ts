/**
 * The training loop every trainable method shares: seeded shuffling, batches fetched lazily from the
 * (disk-streamed) source, Adam with the peers' betas, the cosine schedule stepped per epoch, progress
 * with the running loss, a loss curve, NaN detection, and a checkpoint after every epoch.
 */
import { tf, tfReady } from "../../tf.js";
import { InvalidArgumentError, SimclipError } from "../../errors.js";
import { startProgress } from "../../progress.js";
import { createRng } from "./init.js";
import { gradientsOfTerms } from "./gradients.js";
import type { GradientResult, TrainableObjective, TrainItem, TrainSource } from "./types.js";
import { simclipTrainingProtocol, type StepInfo, type TrainHistory, type TrainOptions } from "./train-options.js";

/** The loss became NaN or infinite; the parameters were not updated with it. */
export class NonFiniteLossError extends SimclipError {
  override name = "NonFiniteLossError";
  constructor(
    readonly epoch: number,
    readonly step: number,
    readonly parts: Record<string, number>,
    readonly lastCheckpoint: string | null,
  ) {
    super(
      `training loss is not finite at epoch ${epoch + 1}, step ${step + 1} (parts: ${JSON.stringify(parts)}); ` +
        (lastCheckpoint
          ? `the last good checkpoint (end of epoch ${epoch}) is kept in ${lastCheckpoint}; `
          : "no epoch finished, so no checkpoint was written; ") +
        "lower the learning rate (--lr) or check the cached features for NaN/Inf",
    );
  }
}

/** Adam whose learning rate can follow a schedule without losing its moments. */
class ScheduledAdam extends tf.AdamOptimizer {
  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }
}

/** PyTorch CosineAnnealingLR (eta_min 0) at epoch e over tMax epochs. */
export function cosineLr(base: number, epoch: number, tMax: number): number {
  return (base * (1 + Math.cos((Math.PI * epoch) / tMax))) / 2;
}

function resolve(opts: TrainOptions) {
  const d = simclipTrainingProtocol("");
  const o = {
    epochs: opts.epochs ?? d.epochs,
    batchSize: opts.batchSize ?? d.batchSize,
    lr: opts.lr ?? d.lr,
    betas: opts.betas ?? d.betas,
    schedule: opts.schedule ?? d.schedule,
    seed: opts.seed ?? d.seed,
  };
  if (!(Number.isInteger(o.epochs) && o.epochs > 0)) throw new InvalidArgumentError(`epochs must be a positive integer, got ${o.epochs}`);
  if (!(Number.isInteger(o.batchSize) && o.batchSize > 0)) throw new InvalidArgumentError(`batch size must be a positive integer, got ${o.batchSize}`);
  if (!(o.lr > 0)) throw new InvalidArgumentError(`learning rate must be > 0, got ${o.lr}`);
  return o;
}

/**
 * One optimiser step's gradients on tfjs: each loss term on its own tape, gradients summed. Returns the
 * total loss and the named parts as numbers, and the summed gradients (caller disposes).
 */
export function computeGradients(method: TrainableObjective, items: TrainItem[]): GradientResult {
  return gradientsOfTerms(method.trainableVariables(), method.objective(items));
}

export async function trainLoop(
  method: TrainableObjective,
  source: TrainSource,
  options: TrainOptions,
  save?: (dir: string) => Promise<void>,
): Promise<TrainHistory> {
  await tfReady();
  const o = resolve(options);
  if (source.length === 0) throw new InvalidArgumentError("training source is empty: no images to train on");
  const tMax = Math.trunc(o.epochs * 1.2);
  const opt = new ScheduledAdam(o.lr, o.betas[0], o.betas[1], 1e-8); // PyTorch Adam's eps
  const rng = createRng("train-shuffle", o.seed);
  const stepsPerEpoch = Math.ceil(source.length / o.batchSize);
  const progress = startProgress(options.label ?? "train", o.epochs * stepsPerEpoch);
  const history: TrainHistory = { steps: [], epochLoss: [], epochLr: [], seconds: 0, imagesPerSecond: 0 };
  const t0 = Date.now();
  let images = 0;
  let lastCheckpoint: string | null = null;
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const lr = o.schedule === "cosine" ? cosineLr(o.lr, epoch, tMax) : o.lr;
      opt.setLearningRate(lr);
      await source.beginEpoch?.(epoch, o.seed);
      const order = Array.from({ length: source.length }, (_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      let sum = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        const items = await Promise.all(order.slice(s * o.batchSize, (s + 1) * o.batchSize).map((i) => source.get(i)));
        const { loss, parts, grads } = method.lossAndGradients ? await method.lossAndGradients(items) : computeGradients(method, items);
        if (!Number.isFinite(loss)) {
          for (const g of grads.values()) g.dispose();
          throw new NonFiniteLossError(epoch, s, parts, lastCheckpoint);
        }
        opt.applyGradients([...grads].map(([v, g]) => ({ name: v.name, tensor: g })));
        for (const g of grads.values()) g.dispose();
        method.afterStep?.();
        sum += loss * items.length;
        images += items.length;
        const info: StepInfo = { epoch, step: s, loss, lr, parts };
        history.steps.push(info);
        options.onStep?.(info);
        progress.update(epoch * stepsPerEpoch + s + 1, { epoch: epoch + 1, loss });
      }
      history.epochLoss.push(sum / source.length);
      history.epochLr.push(lr);
      if (options.checkpointDir && save) {
        await save(options.checkpointDir);
        lastCheckpoint = options.checkpointDir;
      }
    }
  } finally {
    progress.stop();
    opt.dispose();
  }
  history.seconds = (Date.now() - t0) / 1000;
  history.imagesPerSecond = images / Math.max(history.seconds, 1e-9);
  return history;
}
