/**
 * APRIL-GAN's WinCLIP-style prompt ensemble (ByChelsea/VAND-APRIL-GAN, prompt_ensemble.py): every
 * state phrase of a class in every template, states outer and templates inner, 7 x 35 normal and
 * 5 x 35 anomalous sentences. Each sentence's embedding is normalised, the state's mean taken and
 * normalised again (done by `FrozenPromptEmbeddings`).
 * Class names: the folder names as they are (`promptClassName`), as the released code uses them.
 */
import { promptClassName, type PromptSet } from "../common/prompts.js";

export const APRIL_GAN_NORMAL_STATES = [
  "{}",
  "flawless {}",
  "perfect {}",
  "unblemished {}",
  "{} without flaw",
  "{} without defect",
  "{} without damage",
] as const;

export const APRIL_GAN_ANOMALOUS_STATES = ["damaged {}", "broken {}", "{} with flaw", "{} with defect", "{} with damage"] as const;

export const APRIL_GAN_TEMPLATES = [
  "a bad photo of a {}.",
  "a low resolution photo of the {}.",
  "a bad photo of the {}.",
  "a cropped photo of the {}.",
  "a bright photo of a {}.",
  "a dark photo of the {}.",
  "a photo of my {}.",
  "a photo of the cool {}.",
  "a close-up photo of a {}.",
  "a black and white photo of the {}.",
  "a bright photo of the {}.",
  "a cropped photo of a {}.",
  "a jpeg corrupted photo of a {}.",
  "a blurry photo of the {}.",
  "a photo of the {}.",
  "a good photo of the {}.",
  "a photo of one {}.",
  "a close-up photo of the {}.",
  "a photo of a {}.",
  "a low resolution photo of a {}.",
  "a photo of a large {}.",
  "a blurry photo of a {}.",
  "a jpeg corrupted photo of the {}.",
  "a good photo of a {}.",
  "a photo of the small {}.",
  "a photo of the large {}.",
  "a black and white photo of a {}.",
  "a dark photo of a {}.",
  "a photo of a cool {}.",
  "a photo of a small {}.",
  "there is a {} in the scene.",
  "there is the {} in the scene.",
  "this is a {} in the scene.",
  "this is the {} in the scene.",
  "this is one {} in the scene.",
] as const;

const fill = (pattern: string, value: string): string => pattern.replace("{}", value);

function expand(states: readonly string[], name: string): string[] {
  return states.flatMap((s) => APRIL_GAN_TEMPLATES.map((t) => fill(t, fill(s, name))));
}

export function aprilGanPrompts(category: string): PromptSet {
  const name = promptClassName(category);
  return { normal: expand(APRIL_GAN_NORMAL_STATES, name), anomalous: expand(APRIL_GAN_ANOMALOUS_STATES, name) };
}
