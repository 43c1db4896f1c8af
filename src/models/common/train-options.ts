/** Options and history of the shared training loop (`train-loop.ts`). */

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
