/**
 * The synthetic categories and their defect types. Two disjoint sets, so that the paper's
 * cross-dataset protocol (train on one dataset's test split, evaluate on the other) can run on
 * synthetic data: set A is written in MVTec layout by default, set B in VisA layout.
 */
import type { DefectType } from "./defects.js";
import { capsule, nut, pcb, screw, type ObjectFactory } from "./objects.js";
import { grid, tiles, weave, wood, type TextureRenderer } from "./textures.js";

export type SynthCategory =
  | { kind: "texture"; render: TextureRenderer; defects: DefectType[] }
  | { kind: "object"; scene: ObjectFactory; defects: DefectType[] };

export const SYNTH_CATEGORIES: Record<string, SynthCategory> = {
  weave: { kind: "texture", render: weave, defects: ["hole", "stain", "contamination", "scratch"] },
  wood: { kind: "texture", render: wood, defects: ["scratch", "crack", "hole", "stain"] },
  grid: { kind: "texture", render: grid, defects: ["crack", "contamination", "hole", "scratch"] },
  tiles: { kind: "texture", render: tiles, defects: ["crack", "stain", "contamination", "hole"] },
  screw: { kind: "object", scene: screw, defects: ["scratch", "stain", "contamination", "missing_part"] },
  pcb: { kind: "object", scene: pcb, defects: ["missing_part", "misplaced_part", "scratch", "contamination"] },
  capsule: { kind: "object", scene: capsule, defects: ["crack", "stain", "contamination", "hole", "scratch"] },
  nut: { kind: "object", scene: nut, defects: ["scratch", "crack", "missing_part", "stain"] },
};

export const SYNTH_SETS = {
  A: ["weave", "wood", "screw", "pcb"],
  B: ["grid", "tiles", "capsule", "nut"],
} as const;
