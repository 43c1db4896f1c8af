/** How the registry's methods appear in the paper's tables, and which of them train on the auxiliary dataset: read from the methods' descriptors. */
import { METHODS } from "../models/methods.js";

export const PAPER_METHOD_LABEL: Record<string, string> = Object.fromEntries(METHODS.map((m) => [m.name, m.label]));

/** Zero-shot methods that learn on the other dataset's test split (CLIP-AC uses CLIP as it is). */
export const AUXILIARY_TRAINED_METHODS: ReadonlySet<string> = new Set(METHODS.filter((m) => m.auxiliaryTrained).map((m) => m.name));

/** Table 1's rows, in the paper's order: zero-shot, then the few-shot ones. */
export const TABLE1_ZERO_SHOT: readonly string[] = METHODS.filter((m) => m.table1Roles?.includes("zero-shot")).map((m) => m.name);
export const TABLE1_FEW_SHOT: readonly string[] = METHODS.filter((m) => m.table1Roles?.includes("few-shot")).map((m) => m.name);
