/**
 * Paper Table 1: zero-shot (SimCLIP and the zero-shot baselines) and k-shot (SimCLIP+ and the
 * few-shot baselines) on both directions of the cross-dataset protocol: the "VisA" columns come from
 * models trained on MVTec's test split, the "MVTec" columns from models trained on VisA's.
 * Few-shot APRIL-GAN uses its zero-shot training plus the memory (as its authors do); SimCLIP+ runs
 * on the SimCLIP checkpoint of the same direction (it has no parameters of its own).
 */
import { loadCheckpoint } from "../models/common/checkpoint.js";
import { createMethod, methodNames } from "../models/registry.js";
import type { AnomalyMethod } from "../models/common/types.js";
import type { TrainHistory } from "../models/common/train-options.js";
import { PAPER_DATASET_LABEL, CROSS_DATASET_DIRECTIONS, withExperiment, type CrossDatasetDirection, type ExperimentContext } from "./context.js";
import { PAPER_METHOD_LABEL, TABLE1_FEW_SHOT, TABLE1_ZERO_SHOT, AUXILIARY_TRAINED_METHODS } from "./methods.js";
import { PAPER_TABLE_1 } from "./paper-tables.js";
import type { ExperimentSetup } from "./setup.js";
import { experimentTable, type ExperimentRun, type ExperimentTable } from "./table.js";

export interface Table1Options {
  /** Registry names of the rows to compute (default: every Table 1 method the registry has). */
  methods?: string[];
  /** Default both directions. */
  directions?: readonly CrossDatasetDirection[];
  /** Called with each training history (the demo plots SimCLIP's loss curve). */
  onTrained?: (name: string, direction: CrossDatasetDirection, history: TrainHistory) => void;
}

/** The method behind a Table 1 cell, trained on `direction.train` when it learns. */
async function build(ctx: ExperimentContext, name: string, direction: CrossDatasetDirection, opts: Table1Options): Promise<AnomalyMethod> {
  if (name === "simclip+") {
    const simclip = await ctx.trained("simclip", direction);
    opts.onTrained?.("simclip", direction, simclip.history);
    simclip.method.dispose?.();
    return createMethod("simclip+", { backbone: ctx.model, checkpoint: await loadCheckpoint(simclip.checkpointDir) });
  }
  if (!AUXILIARY_TRAINED_METHODS.has(name)) return ctx.create(name);
  const t = await ctx.trained(name, direction);
  opts.onTrained?.(name, direction, t.history);
  return t.method;
}

export async function table1(on: ExperimentSetup | ExperimentContext, opts: Table1Options = {}): Promise<ExperimentTable> {
  const available = new Set(methodNames());
  const wanted = (names: readonly string[]) => names.filter((n) => available.has(n) && (opts.methods ?? names).includes(n));
  return withExperiment(on, async (ctx) => {
    const setup = ctx.setup;
    const runs: ExperimentRun[] = [];
    for (const direction of opts.directions ?? CROSS_DATASET_DIRECTIONS) {
      const dataset = PAPER_DATASET_LABEL[direction.test];
      for (const name of wanted(TABLE1_ZERO_SHOT)) {
        const m = await build(ctx, name, direction, opts);
        try {
          runs.push({ key: { setup: "0-shot", method: PAPER_METHOD_LABEL[name]! }, dataset, results: await ctx.evaluate(m, direction.test, 0) });
        } finally {
          m.dispose?.();
        }
      }
      for (const name of wanted(TABLE1_FEW_SHOT)) {
        const m = await build(ctx, name, direction, opts);
        try {
          for (const k of setup.shots) {
            runs.push({ key: { setup: `${k}-shot`, method: PAPER_METHOD_LABEL[name]! }, dataset, results: await ctx.evaluate(m, direction.test, k) });
          }
        } finally {
          m.dispose?.();
        }
      }
    }
    const table = experimentTable(PAPER_TABLE_1, setup, runs);
    // Stable: within a k, methods keep the paper's order the runs were made in.
    table.rows.sort((a, b) => parseInt(a.key.setup!, 10) - parseInt(b.key.setup!, 10));
    return table;
  });
}
