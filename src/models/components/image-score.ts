/**
 * SimCLIP+'s image score (paper Sec. 3.3: "integrating the maximum value from the few-shot anomaly
 * segmentation map with the language-guided zero-shot anomaly classification score"). As the
 * authors' code (and APRIL-GAN) does it: per class, the maps' maxima are min-max normalised over all
 * test images of the class, then score = 0.5 * (text probability + normalised maximum).
 */
import { ShapeError } from "../../errors.js";

export function mapMaximum(map: Float32Array): number {
  let m = -Infinity;
  for (let i = 0; i < map.length; i++) if (map[i]! > m) m = map[i]!;
  return m;
}

/**
 * 0.5 * (textProb + (max - min(max)) / (max(max) - min(max))) over one class's images. When every
 * image has the same maximum the normalisation is 0/0 (NaN in numpy, which would break the AUROC):
 * the maxima then carry no ranking information and count as 0, leaving the text probability's order.
 */
export function combineImageScores(textProb: Float32Array, mapMax: Float32Array): Float32Array {
  if (textProb.length !== mapMax.length) throw new ShapeError(`combineImageScores: ${textProb.length} text probabilities but ${mapMax.length} map maxima`);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of mapMax) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const range = hi - lo;
  return textProb.map((t, i) => 0.5 * (t + (range > 0 ? (mapMax[i]! - lo) / range : 0)));
}
