/** Options and history of the shared training loop (`train-loop.ts`), and each method's own training recipe. */

/**
 * A method's training recipe, as its released training script runs it. The experiment runner trains
 * every method with its own (`AnomalyMethod.trainingProtocol`); a setup may override single fields
 * (the quick CI mode does).
 */
export interface TrainingProtocol {
  epochs: number;
  batchSize: number;
  lr: number;
  betas: [number, number];
  schedule: "cosine" | "constant";
  seed: number;
  /** 2 x 2 mosaic rate (`mosaic.ts`); 0 = off. */
  mosaicRate: number;
}

/**
 * The released SimCLIP `train.py`: batch 16, Adam 1e-3 with betas (0.5, 0.999), cosine over
 * int(1.2 x epochs) stepped per epoch, seed 111, 5 epochs (the paper; its released checkpoints are
 * from epoch 20); mosaic rate 0.2 when training on MVTec (its `aug_rate`), none on VisA. The training
 * loop's defaults, and the recipe of methods that declare none.
 */
export function simclipTrainingProtocol(trainLayout: string): TrainingProtocol {
  return { epochs: 5, batchSize: 16, lr: 1e-3, betas: [0.5, 0.999], schedule: "cosine", seed: 111, mosaicRate: trainLayout === "mvtec" ? 0.2 : 0 };
}

/**
 * The recipe `method` trains with on a training set of layout `trainLayout`: its own (as its released
 * script runs it), with only the fields `overrides` names replaced (a user's options, CI's quick mode).
 */
export function trainingProtocolFor(
  method: { trainingProtocol?(trainLayout: string): TrainingProtocol },
  trainLayout: string,
  overrides: Partial<TrainingProtocol> = {},
): TrainingProtocol {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<TrainingProtocol>;
  return { ...(method.trainingProtocol?.(trainLayout) ?? simclipTrainingProtocol(trainLayout)), ...defined };
}

export interface TrainOptions {
  /** Passes over the training source. Default 5 (the paper; the authors' released checkpoints are from epoch 20). */
  epochs?: number;
  /** Default 16 (SimCLIP's training script; APRIL-GAN and AnomalyCLIP use 8). */
  batchSize?: number;
  /** Adam learning rate; default 1e-3 (SimCLIP, APRIL-GAN, AnomalyCLIP). */
  lr?: number;
  /** Adam betas; default [0.5, 0.999] (all three peers). */
  betas?: [number, number];
  /**
   * "cosine": CosineAnnealingLR with T_max = round(1.2 * epochs), stepped once per epoch (SimCLIP's
   * script), so the last epoch still has a learning rate well above 0. "constant": no schedule (APRIL-GAN).
   */
  schedule?: "cosine" | "constant";
  /** Seeds shuffling and parameter initialisation; default 111 (SimCLIP's training seed). */
  seed?: number;
  /** When set, a checkpoint is written here after every epoch (the last good one survives a NaN). */
  checkpointDir?: string;
  /** Called after every step with the running numbers (notebooks plot the loss curve from it). */
  onStep?: (info: StepInfo) => void;
  /** Progress label; default "train". */
  label?: string;
}

export interface StepInfo {
  epoch: number;
  step: number;
  loss: number;
  lr: number;
  /** The objective's named parts for this step, e.g. { ce, focal, dice }. */
  parts: Record<string, number>;
}

export interface TrainHistory {
  /** One entry per optimiser step. */
  steps: StepInfo[];
  /** Mean loss of each epoch. */
  epochLoss: number[];
  /** Learning rate used in each epoch. */
  epochLr: number[];
  seconds: number;
  imagesPerSecond: number;
}
