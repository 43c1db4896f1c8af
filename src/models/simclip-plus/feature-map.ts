/**
 * The feature-driven map M_v, paper Eq. 7: per hooked layer, each query patch's distance
 * (1 - cos) / 2 to its nearest memory feature, upsampled to the input size and summed over layers.
 *
 * Authors' code: `np.min((1 - cos) * 0.5, 0)` per layer, `F.interpolate(bilinear, align_corners=True)`,
 * summed, no Gaussian smoothing. The minimum of (1 - cos) / 2 is (1 - max cos) / 2, so the nearest
 * neighbour search's max cosine is all it needs. Upsampling is linear, so the grids are summed first
 * and upsampled once.
 */
import { ShapeError } from "../../errors.js";
import { upsampleBilinearArray } from "../common/upsample.js";

/** Sum over layers of (1 - maxCos) / 2 on the patch grid; one [P] array of max cosines per layer. */
export function featureDrivenGrid(maxCosPerLayer: Float32Array[]): Float32Array {
  const first = maxCosPerLayer[0];
  if (!first) throw new ShapeError("featureDrivenGrid: expected one max-cosine array per hooked layer, got none");
  const out = new Float32Array(first.length);
  for (const c of maxCosPerLayer) {
    if (c.length !== first.length) throw new ShapeError(`featureDrivenGrid: layers have ${c.length} and ${first.length} patches`);
    for (let i = 0; i < c.length; i++) out[i]! += (1 - c[i]!) * 0.5;
  }
  return out;
}

/** M_v at full resolution: the summed grid [g*g] upsampled to [size*size] (bilinear, align_corners = true). */
export function featureDrivenMap(grid: Float32Array, g: number, size: number): Float32Array {
  return upsampleBilinearArray(grid, g, size, true);
}
