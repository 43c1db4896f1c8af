/**
 * The jet colormap for anomaly maps, as matplotlib defines it (its `_jet_data` segments, sampled into
 * a 256-entry table, bytes by truncation as `cmap(x, bytes=True)` does). The released code colours maps
 * with OpenCV's COLORMAP_JET, whose table differs from matplotlib's by a few levels; matplotlib's is
 * the documented one, so figures can be checked against it (docs/notebooks.md, figure conventions).
 */
type Segments = [number, number][];

const JET: [Segments, Segments, Segments] = [
  [
    [0, 0],
    [0.35, 0],
    [0.66, 1],
    [0.89, 1],
    [1, 0.5],
  ],
  [
    [0, 0],
    [0.125, 0],
    [0.375, 1],
    [0.64, 1],
    [0.91, 0],
    [1, 0],
  ],
  [
    [0, 0.5],
    [0.11, 1],
    [0.34, 1],
    [0.65, 0],
    [1, 0],
  ],
];

const N = 256;

/**
 * matplotlib's `_create_lookup_table` step for step (segment positions scaled by N - 1, sample
 * positions from linspace, left-side search), so that entries on a segment boundary round the same.
 */
function lookupTable(seg: Segments): Float64Array {
  const x = seg.map(([p]) => p * (N - 1));
  const lut = new Float64Array(N);
  lut[0] = seg[0]![1];
  lut[N - 1] = seg[seg.length - 1]![1];
  const step = 1 / (N - 1);
  for (let i = 1; i < N - 1; i++) {
    const xi = (N - 1) * (i * step);
    // Segments run from position 0 to 1, so 0 < xi < N - 1 stops the search at 1 <= ind < seg.length.
    let ind = 0;
    while (x[ind]! < xi) ind++;
    const x0 = x[ind - 1]!;
    const x1 = x[ind]!;
    const y0 = seg[ind - 1]![1];
    const y1 = seg[ind]![1];
    const distance = (xi - x0) / (x1 - x0);
    lut[i] = Math.min(1, Math.max(0, distance * (y1 - y0) + y0));
  }
  return lut;
}

const JET_LUT: Uint8Array = (() => {
  const lut = new Uint8Array(N * 3);
  JET.forEach((seg, c) => {
    lookupTable(seg).forEach((v, i) => {
      lut[i * 3 + c] = Math.floor(v * 255);
    });
  });
  return lut;
})();

/** Colour of a value in [0, 1] (clamped; NaN is an error upstream) as [r, g, b] bytes. */
export function jetColor(x: number): [number, number, number] {
  const i = Math.min(N - 1, Math.max(0, Math.floor(x * N)));
  return [JET_LUT[i * 3]!, JET_LUT[i * 3 + 1]!, JET_LUT[i * 3 + 2]!];
}
