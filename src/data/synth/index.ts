export { SYNTH_CATEGORIES, SYNTH_SETS, type SynthCategory } from "./categories.js";
export { PAINTED_DEFECTS, PART_DEFECTS, type DefectType as SynthDefectType } from "./defects.js";
export { generateSynth, type SynthOptions } from "./generate.js";
export { renderSynthImage, type SynthImage, type SynthImageSpec } from "./render.js";
