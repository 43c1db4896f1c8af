/**
 * What every method needs from the frozen CLIP: its config, weights (for initialisation), fingerprint
 * (checkpoints and caches are keyed by it) and text tower. ClipModel fits.
 */
import type { ClipConfig } from "../../clip/config.js";
import type { ClipWeights } from "../../clip/weights.js";
import type { TextTower } from "./prompts.js";

export interface SimClipBackbone extends TextTower {
  readonly config: ClipConfig;
  readonly weights: ClipWeights;
  readonly fingerprint: string;
}
