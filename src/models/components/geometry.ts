/**
 * Input size and hooked layers of a baseline, checked against its backbone the way SimCLIP checks
 * its own (`simclip/config.ts`), so every method of a table runs on the same cached features.
 */
import { InvalidArgumentError } from "../../errors.js";
import type { ClipConfig } from "../../clip/config.js";

/** SimCLIP's and the peers' input size: 518 for ViT-L/14-336, a 37 x 37 grid. */
export const DEFAULT_INPUT_SIZE = 518;

export interface BaselineGeometry {
  size: number;
  layers: number[];
  grid: number;
}

/**
 * `size` defaults to SimCLIP's (518, the peers' input for ViT-L/14-336); `layers` to `defaultLayers`
 * (each method names its own, e.g. the peers' 6, 12, 18, 24).
 */
export function resolveGeometry(
  method: string,
  config: ClipConfig,
  size: number | undefined,
  layers: number[] | undefined,
  defaultLayers: number[],
): BaselineGeometry {
  const s = size ?? DEFAULT_INPUT_SIZE;
  const ps = config.vision.patchSize;
  if (!Number.isInteger(s) || s <= 0 || s % ps !== 0) {
    throw new InvalidArgumentError(`${method}: size ${s} must be a positive multiple of the patch size ${ps} (e.g. 518 for ViT-L/14): pass --size`);
  }
  const ls = [...(layers ?? defaultLayers)];
  if (ls.length === 0) throw new InvalidArgumentError(`${method}: no hooked layers given; e.g. --layers 6,12,18,24`);
  for (const l of ls) {
    if (!Number.isInteger(l) || l < 1 || l > config.vision.layers) {
      throw new InvalidArgumentError(`${method}: layer ${l} is not a block of this backbone (1..${config.vision.layers})`);
    }
  }
  if (new Set(ls).size !== ls.length) throw new InvalidArgumentError(`${method}: duplicate layers in ${ls.join(",")}`);
  return { size: s, layers: ls, grid: s / ps };
}

/** The peers' hooked layers 6, 12, 18, 24 of ViT-L/14, i.e. the ends of the four quarters of any depth. */
export function quarterLayers(config: ClipConfig): number[] {
  const d = config.vision.layers;
  return [...new Set([1, 2, 3, 4].map((q) => Math.max(1, Math.round((q * d) / 4))))];
}
