/**
 * Paper Table 2: parameters and FLOPs of IPT vs CoOp / Co-CoOp inside SimCLIP, counted by
 * src/models/complexity.ts on the configured backbone at the experiment's size and layers (the
 * paper's are ViT-L/14-336 at 518 px; the demo backbone's numbers are of its own, smaller, shape).
 */
import { promptLearningComplexity, type ComplexityRow } from "../models/complexity.js";
import { PAPER_TABLE_2 } from "../notebook/paper-tables.js";
import type { ResultRow } from "../notebook/tables.js";
import { withExperiment, type ExperimentContext } from "./context.js";
import { PAPER_METHOD_LABEL } from "./methods.js";
import { experimentLabel, isSyntheticExperiment, type ExperimentSetup } from "./setup.js";
import type { ExperimentTable } from "./table.js";

export interface Table2Result extends ExperimentTable {
  /** The counts behind each row (vision / text / heads breakdown, per-module parameters, train-step FLOPs). */
  complexity: ComplexityRow[];
}

const LABEL: Record<ComplexityRow["method"], string> = { CoOp: PAPER_METHOD_LABEL.coop!, CoCoOp: PAPER_METHOD_LABEL.cocoop!, IPT: "IPT" };

export async function table2(on: ExperimentSetup | ExperimentContext): Promise<Table2Result> {
  return withExperiment(on, async (ctx) => {
    const complexity = await promptLearningComplexity(ctx.model, { size: ctx.size, layers: ctx.layers });
    // FLOPs(G) as the paper counts them (thop: multiply-accumulates of one forward, G = 1e9); Params in M.
    const rows: ResultRow[] = complexity.map((c) => ({ key: { method: LABEL[c.method] }, values: { "FLOPs(G)": c.gmacs, "Params(M)": c.params / 1e6 } }));
    return {
      id: "table2", title: PAPER_TABLE_2.title, setup: experimentLabel(ctx.setup), synthetic: isSyntheticExperiment(ctx.setup), rows, runs: [], complexity,
    };
  });
}
