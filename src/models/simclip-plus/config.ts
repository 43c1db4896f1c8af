/**
 * SimCLIP+'s switches. SimCLIP+ has no trained parameters of its own: it runs on a trained SimCLIP
 * (adapters, refined prompts, projections) plus the k-shot memory gallery. The defaults are what the
 * released `test_few_shot.py` does; the paper's wording is the alternative of each switch.
 */
import { InvalidArgumentError } from "../../errors.js";
import type { PriorWeighting } from "./prior-aware.js";

export interface SimClipPlusConfig {
  /** Feature-driven map M_v (Eq. 7) added to the language-guided map (Table 6 "FD"). */
  fd: boolean;
  /**
   * Prior-aware optimisation (Algorithm 1, Table 6 "PAO"): the language-guided map is M_zero^prior;
   * off = SimCLIP's zero-shot map.
   */
  pao: boolean;
  /** Algorithm 1's D_l: each layer's own similarity ("per-layer", paper) or the last layer's ("last-layer", released code). */
  weighting: PriorWeighting;
  /**
   * Which map's maximum enters the image score. "few-shot" (paper: "the maximum value from the
   * few-shot anomaly segmentation map"): the final map. "zero-shot+fd" (released code's
   * `anomaly_maps_before`): SimCLIP's zero-shot map, its logits upsampled with align_corners = false and
   * smoothed, + M_v, whatever `fd` and `pao` say.
   */
  imageScoreMap: "few-shot" | "zero-shot+fd";
}

export const SIMCLIP_PLUS_DEFAULTS: SimClipPlusConfig = { fd: true, pao: true, weighting: "last-layer", imageScoreMap: "zero-shot+fd" };

export function resolveSimClipPlusConfig(partial: Partial<SimClipPlusConfig> = {}): SimClipPlusConfig {
  const c = { ...SIMCLIP_PLUS_DEFAULTS, ...partial };
  if (!c.fd && !c.pao) {
    throw new InvalidArgumentError("SimCLIP+: both fd and pao are off, which leaves zero-shot SimCLIP: use --method simclip for that, or turn one of them on");
  }
  if (c.weighting !== "per-layer" && c.weighting !== "last-layer") {
    throw new InvalidArgumentError(`SimCLIP+: weighting must be "per-layer" (paper) or "last-layer" (released code), got ${JSON.stringify(c.weighting)}`);
  }
  if (c.imageScoreMap !== "few-shot" && c.imageScoreMap !== "zero-shot+fd") {
    throw new InvalidArgumentError(
      `SimCLIP+: imageScoreMap must be "few-shot" (paper) or "zero-shot+fd" (released code), got ${JSON.stringify(c.imageScoreMap)}`,
    );
  }
  return c;
}
