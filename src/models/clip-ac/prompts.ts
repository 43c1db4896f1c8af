/**
 * CLIP-AC's prompts. AnomalyCLIP's appendix describes the baseline as CLIP with the prompt-template
 * ensemble Radford et al. recommend for ImageNet, filled with "normal [cls]" / "anomalous [cls]", the
 * text features averaged per state; SimCLIP's Table 1 quotes AnomalyCLIP's CLIP-AC row. The 80
 * templates are OpenAI's (CLIP's "Prompt Engineering for ImageNet"); the same list, in this order, is
 * in the bytecode AnomalyCLIP's repository ships (`AnomalyCLIP_lib/__pycache__/clip.cpython-39.pyc`,
 * `encode_text_with_prompt_ensemble`, followed there by five "in the scene" templates).
 * docs/baselines-provenance.md weighs the evidence.
 */
import { promptClassName, simclipPrompts, type PromptClassNames, type PromptSet } from "../common/prompts.js";

export const IMAGENET_TEMPLATES: readonly string[] = [
  "a bad photo of a {}.",
  "a photo of many {}.",
  "a sculpture of a {}.",
  "a photo of the hard to see {}.",
  "a low resolution photo of the {}.",
  "a rendering of a {}.",
  "graffiti of a {}.",
  "a bad photo of the {}.",
  "a cropped photo of the {}.",
  "a tattoo of a {}.",
  "the embroidered {}.",
  "a photo of a hard to see {}.",
  "a bright photo of a {}.",
  "a photo of a clean {}.",
  "a photo of a dirty {}.",
  "a dark photo of the {}.",
  "a drawing of a {}.",
  "a photo of my {}.",
  "the plastic {}.",
  "a photo of the cool {}.",
  "a close-up photo of a {}.",
  "a black and white photo of the {}.",
  "a painting of the {}.",
  "a painting of a {}.",
  "a pixelated photo of the {}.",
  "a sculpture of the {}.",
  "a bright photo of the {}.",
  "a cropped photo of a {}.",
  "a plastic {}.",
  "a photo of the dirty {}.",
  "a jpeg corrupted photo of a {}.",
  "a blurry photo of the {}.",
  "a photo of the {}.",
  "a good photo of the {}.",
  "a rendering of the {}.",
  "a {} in a video game.",
  "a photo of one {}.",
  "a doodle of a {}.",
  "a close-up photo of the {}.",
  "a photo of a {}.",
  "the origami {}.",
  "the {} in a video game.",
  "a sketch of a {}.",
  "a doodle of the {}.",
  "a origami {}.",
  "a low resolution photo of a {}.",
  "the toy {}.",
  "a rendition of the {}.",
  "a photo of the clean {}.",
  "a photo of a large {}.",
  "a rendition of a {}.",
  "a photo of a nice {}.",
  "a photo of a weird {}.",
  "a blurry photo of a {}.",
  "a cartoon {}.",
  "art of a {}.",
  "a sketch of the {}.",
  "a embroidered {}.",
  "a pixelated photo of a {}.",
  "itap of the {}.",
  "a jpeg corrupted photo of the {}.",
  "a good photo of a {}.",
  "a plushie {}.",
  "a photo of the nice {}.",
  "a photo of the small {}.",
  "a photo of the weird {}.",
  "the cartoon {}.",
  "art of the {}.",
  "a drawing of the {}.",
  "a photo of the large {}.",
  "a black and white photo of a {}.",
  "the plushie {}.",
  "a dark photo of a {}.",
  "itap of a {}.",
  "graffiti of the {}.",
  "a toy {}.",
  "itap of my {}.",
  "a photo of a cool {}.",
  "a photo of a small {}.",
  "a tattoo of the {}.",
];

/** Which prompts CLIP-AC scores with. */
export type ClipAcPrompts = "imagenet" | "simclip";

/** "imagenet": the 80 templates x "normal [cls]" / "anomalous [cls]"; "simclip": SimCLIP's two sentences (Eq. 3). */
export function clipAcPrompts(kind: ClipAcPrompts, category: string, style: PromptClassNames = "raw"): PromptSet {
  if (kind === "simclip") return simclipPrompts(category, style);
  const name = promptClassName(category, style);
  return {
    normal: IMAGENET_TEMPLATES.map((t) => t.replace("{}", `normal ${name}`)),
    anomalous: IMAGENET_TEMPLATES.map((t) => t.replace("{}", `anomalous ${name}`)),
  };
}
