/**
 * Paper Table 2: parameters and FLOPs of IPT vs CoOp / Co-CoOp inside SimCLIP, counted by
 * src/models/complexity.ts on the configured backbone at the experiment's size and layers (the
 * paper's are ViT-L/14-336 at 518 px; the demo backbone's numbers are of its own, smaller, shape).
 */
import { promptLearningComplexity, type ComplexityRow } from "../models/complexity.js";
import { withExperiment, type ExperimentContext } from "./context.js";
import { PAPER_METHOD_LABEL } from "./methods.js";
import { PAPER_TABLE_2 } from "./paper-tables.js";
import { experimentLabel, isSyntheticExperiment, type ExperimentSetup } from "./setup.js";
import type { ExperimentTable, ResultRow } from "./table.js";

export interface Table2Result extends ExperimentTable {
  /** The counts behind each row (vision / text / heads breakdown, per-module parameters, train-step FLOPs). */
  complexity: ComplexityRow[];
}

const LABEL: Record<ComplexityRow["method"], string> = { CoOp: PAPER_METHOD_LABEL.coop!, CoCoOp: PAPER_METHOD_LABEL.cocoop!, IPT: "IPT" };

/** The row every method contains, so the table shows how little each prompt learner adds to it. */
export const TABLE2_BACKBONE_ROW = "CLIP backbone alone (frozen)";

/**
 * Table 2's rows from the counts: FLOPs(G) as the paper counts them (multiply-accumulates of one
 * forward, G = 1e9), Params(M); then the frozen backbone alone (its two towers' forward).
 */
export function table2Rows(complexity: ComplexityRow[]): ResultRow[] {
  const rows: ResultRow[] = complexity.map((c) => ({ key: { method: LABEL[c.method] }, values: { "FLOPs(G)": c.gmacs, "Params(M)": c.params / 1e6 } }));
  const { breakdown, backboneParams } = complexity[0]!;
  rows.push({ key: { method: TABLE2_BACKBONE_ROW }, values: { "FLOPs(G)": breakdown.vision + breakdown.text, "Params(M)": backboneParams / 1e6 } });
  return rows;
}

export async function table2(on: ExperimentSetup | ExperimentContext): Promise<Table2Result> {
  return withExperiment(on, async (ctx) => {
    const complexity = await promptLearningComplexity(ctx.model, { size: ctx.size, layers: ctx.layers });
    return {
      id: "table2",
      title: PAPER_TABLE_2.title,
      setup: experimentLabel(ctx.setup),
      synthetic: isSyntheticExperiment(ctx.setup),
      rows: table2Rows(complexity),
      runs: [],
      notes: [],
      complexity,
    };
  });
}
