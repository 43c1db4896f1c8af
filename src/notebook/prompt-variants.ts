/**
 * The prompt set of Figure 5: class names x normal / anomalous state phrasings x templates. The
 * states are the WinCLIP / APRIL-GAN prompt ensemble's (7 normal, 5 anomalous); the class names are
 * MVTec-AD's and VisA's (underscores as spaces, as the peers' prompts write them). Only the text tower
 * sees these, so the figure needs no images and works on any configuration.
 */
export const FIGURE5_CLASSES = [
  "bottle", "cable", "capsule", "carpet", "grid", "hazelnut", "leather", "metal nut", "pill", "screw", "tile",
  "toothbrush", "transistor", "wood", "zipper", "candle", "capsules", "cashew", "chewinggum", "fryum", "macaroni1",
  "macaroni2", "pcb1", "pcb2", "pcb3", "pcb4", "pipe fryum",
] as const;

export const PROMPT_STATES = {
  normal: ["{}", "flawless {}", "perfect {}", "unblemished {}", "{} without flaw", "{} without defect", "{} without damage"],
  anomalous: ["damaged {}", "broken {}", "{} with flaw", "{} with defect", "{} with damage"],
} as const;

export const PROMPT_TEMPLATES = ["a photo of a {}.", "a close-up photo of the {}.", "a cropped photo of a {}."] as const;

export interface PromptVariant {
  text: string;
  /** The class name. */
  group: string;
  kind: "normal" | "anomalous";
}

export function promptVariants(classes: readonly string[], templates: readonly string[] = PROMPT_TEMPLATES): PromptVariant[] {
  const out: PromptVariant[] = [];
  for (const group of classes) {
    for (const kind of ["normal", "anomalous"] as const) {
      for (const state of PROMPT_STATES[kind]) {
        for (const t of templates) out.push({ text: t.replace("{}", state.replace("{}", group)), group, kind });
      }
    }
  }
  return out;
}

/** Figure 5's prompts for a configuration: 4 classes and one template in quick mode. */
export function figure5Prompts(quick: boolean): PromptVariant[] {
  return quick ? promptVariants(FIGURE5_CLASSES.slice(0, 4), PROMPT_TEMPLATES.slice(0, 1)) : promptVariants(FIGURE5_CLASSES);
}
