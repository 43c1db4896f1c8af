/**
 * The paper's ablations, each on the direction the paper reports (trained on MVTec's test split,
 * evaluated on VisA) unless it reports both:
 * - Table 3: MHVA and IPT switched off and on (SimCLIP config `mhva` / `ipt`).
 * - Table 4: IPT vs CoOp and Co-CoOp inside the SimCLIP framework, both directions.
 * - Table 5: adapters on one hooked layer at a time vs all of them.
 * - Table 6: SimCLIP+ with the feature-driven map (FD) and/or prior-aware optimisation (PAO), k-shot.
 */
import { loadCheckpoint } from "../models/common/checkpoint.js";
import { methodNames } from "../models/registry.js";
import type { SimClipConfig } from "../models/simclip/config.js";
import { createSimClipPlusMethod } from "../models/simclip-plus/factory.js";
import { PAPER_DATASET_LABEL, CROSS_DATASET_DIRECTIONS, withExperiment, type CrossDatasetDirection, type ExperimentContext } from "./context.js";
import { PAPER_METHOD_LABEL } from "./methods.js";
import { PAPER_TABLE_3, PAPER_TABLE_4, PAPER_TABLE_5, PAPER_TABLE_6 } from "./paper-tables.js";
import type { ExperimentSetup } from "./setup.js";
import { experimentTable, type ExperimentRun, type ExperimentTable } from "./table.js";

/** The paper's ablation direction: train on MVTec, test on VisA. */
const VISA: CrossDatasetDirection = CROSS_DATASET_DIRECTIONS[0]!;

async function zeroShot(
  ctx: ExperimentContext,
  name: string,
  direction: CrossDatasetDirection,
  opts: { simclip?: Partial<SimClipConfig>; layers?: number[] } = {},
) {
  const t = await ctx.trained(name, direction, opts);
  try {
    return await ctx.evaluate(t.method, direction.test, 0);
  } finally {
    t.method.dispose?.();
  }
}

const tick = (on: boolean) => (on ? "✓" : "");

export async function table3(on: ExperimentSetup | ExperimentContext): Promise<ExperimentTable> {
  return withExperiment(on, async (ctx) => {
    const runs: ExperimentRun[] = [];
    for (const [mhva, ipt] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      runs.push({ key: { MHVA: tick(mhva), IPT: tick(ipt) }, results: await zeroShot(ctx, "simclip", VISA, { simclip: { mhva, ipt } }) });
    }
    return experimentTable(PAPER_TABLE_3, ctx.setup, runs);
  });
}

/** Rows for CoOp / Co-CoOp only when their methods are registered (the baselines' folder provides them). */
export async function table4(on: ExperimentSetup | ExperimentContext): Promise<ExperimentTable> {
  const names = ["coop", "cocoop", "simclip"].filter((n) => methodNames().includes(n));
  return withExperiment(on, async (ctx) => {
    const runs: ExperimentRun[] = [];
    for (const direction of CROSS_DATASET_DIRECTIONS) {
      for (const name of names) {
        const method = name === "simclip" ? "IPT" : PAPER_METHOD_LABEL[name]!;
        runs.push({ key: { dataset: PAPER_DATASET_LABEL[direction.test], method }, results: await zeroShot(ctx, name, direction) });
      }
    }
    return experimentTable(PAPER_TABLE_4, ctx.setup, runs);
  });
}

export async function table5(on: ExperimentSetup | ExperimentContext): Promise<ExperimentTable> {
  return withExperiment(on, async (ctx) => {
    const runs: ExperimentRun[] = [];
    for (const [i, layer] of ctx.layers.entries()) {
      runs.push({ key: { hierarchy: `${i + 1} (layer ${layer})` }, results: await zeroShot(ctx, "simclip", VISA, { layers: [layer] }) });
    }
    runs.push({ key: { hierarchy: "all" }, results: await zeroShot(ctx, "simclip", VISA) });
    return experimentTable(PAPER_TABLE_5, ctx.setup, runs);
  });
}

/** On the one SimCLIP checkpoint of Table 1's VisA columns; only SimCLIP+'s switches change. */
export async function table6(on: ExperimentSetup | ExperimentContext): Promise<ExperimentTable> {
  return withExperiment(on, async (ctx) => {
    const simclip = await ctx.trained("simclip", VISA);
    simclip.method.dispose?.();
    const checkpoint = await loadCheckpoint(simclip.checkpointDir);
    const runs: ExperimentRun[] = [];
    for (const [fd, pao] of [
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const m = await createSimClipPlusMethod({ backbone: ctx.model, checkpoint }, { fd, pao });
      try {
        for (const k of ctx.setup.shots) {
          runs.push({ key: { FD: tick(fd), PAO: tick(pao) }, dataset: `${k}-shot`, results: await ctx.evaluate(m, VISA.test, k) });
        }
      } finally {
        m.dispose?.();
      }
    }
    return experimentTable(PAPER_TABLE_6, ctx.setup, runs);
  });
}
