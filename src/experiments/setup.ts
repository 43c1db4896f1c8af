/**
 * What every paper-artefact experiment runs on: the configuration (config.ts: a real CLIP and
 * MVTec-AD / VisA roots when given, else the demo backbone and the synthetic benchmark) plus the
 * protocol's knobs (input size, hooked layers, training options, shots, seeds). Trained checkpoints
 * and features live under `dataDir` (the project's git-ignored data/ unless SIMCLIP_CACHE_DIR says
 * otherwise), so every table reuses one training run per (direction, config).
 */
import { InvalidArgumentError } from "../errors.js";
import type { TrainingProtocol } from "../models/common/train-options.js";
import type { ClipActivation } from "../clip/config.js";
import { isRealSetup, loadExperimentConfig, setupLabel, type ExperimentConfig, type LoadExperimentConfigOptions } from "./config.js";

/**
 * Fields that override every method's own training recipe (`AnomalyMethod.trainingProtocol`); empty
 * on the paper's protocol, so each method trains as its released script does.
 */
export type ExperimentTraining = Partial<TrainingProtocol>;

export interface ExperimentSetup {
  config: ExperimentConfig;
  /** Where the backbone, synthetic data, features and checkpoints are cached (= config.cacheDir). */
  dataDir: string;
  /** Input/map size; undefined: chosen from the backbone (`resolveGeometry` in context.ts). */
  size?: number;
  /** Hooked layers; undefined: four spread over the depth (the paper's 6, 12, 18, 24 of ViT-L/14). */
  layers?: number[];
  training: ExperimentTraining;
  /** The backbone's MLP activation; undefined: the released code's rule at `size` (exact GELU away from the native size). */
  activation?: ClipActivation;
  /** k of the few-shot rows (paper: 1, 2, 4). */
  shots: number[];
  /** Seeds of the k-shot draws (paper: 5). */
  seeds: number[];
  /** Test images scored per call. */
  batchSize: number;
}

/** The paper's protocol on real data; the quick one CI runs; the synthetic default in between. */
function defaults(config: ExperimentConfig): Omit<ExperimentSetup, "config" | "dataDir"> {
  if (config.quick) return { training: { epochs: 1, batchSize: 4, mosaicRate: 0 }, shots: [1], seeds: [0], batchSize: 8 };
  if (isRealSetup(config)) return { training: {}, shots: [1, 2, 4], seeds: [0, 1, 2, 3, 4], batchSize: 8 };
  // Synthetic + demo backbone: two seeds keep the default job inside its 10-minute budget on 2 cores.
  return { training: {}, shots: [1, 2, 4], seeds: [0, 1], batchSize: 8 };
}

export interface LoadExperimentSetupOptions extends LoadExperimentConfigOptions {
  /** Force quick mode on (the CLI's --quick); otherwise SIMCLIP_QUICK / the config file decide. */
  quick?: boolean;
  overrides?: Partial<Omit<ExperimentSetup, "config" | "dataDir">>;
}

/** The experiment setup from the configuration (one cache with the notebooks and the demo: data/ by default). */
export function loadExperimentSetup(opts: LoadExperimentSetupOptions = {}): ExperimentSetup {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const loaded = loadExperimentConfig({ env, cwd });
  return experimentSetupFrom(opts.quick ? { ...loaded, quick: true } : loaded, opts.overrides);
}

/** An experiment setup on a configuration the caller already has (e.g. a notebook's `setupNotebook`). */
export function experimentSetupFrom(config: ExperimentConfig, overrides: LoadExperimentSetupOptions["overrides"] = {}): ExperimentSetup {
  const s: ExperimentSetup = { config, dataDir: config.cacheDir, ...defaults(config), ...overrides };
  if (s.shots.some((k) => !Number.isInteger(k) || k < 1))
    throw new InvalidArgumentError(`experiment shots must be positive integers, got [${s.shots.join(", ")}]`);
  if (s.seeds.length === 0) throw new InvalidArgumentError("experiment seeds are empty; give at least one k-shot seed, e.g. [0]");
  return s;
}

/** The caption every experiment result carries: what it was computed on, synthetic setups flagged. */
export function experimentLabel(s: ExperimentSetup): string {
  return setupLabel(s.config);
}

export function isSyntheticExperiment(s: ExperimentSetup): boolean {
  return !isRealSetup(s.config);
}
