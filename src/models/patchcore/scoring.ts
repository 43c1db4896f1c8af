/**
 * PatchCore's scoring (Roth et al. 2022, Sec. 3.3, Eq. 7; anomalib's `compute_anomaly_score`):
 * every test patch's score is its Euclidean distance to the nearest memory feature; the image score is
 * the largest patch score s* re-weighted by how isolated its nearest memory feature m* is:
 *   w = 1 - exp(|m_test* - m*|) / sum over the b nearest memory features m of m* (m* itself
 *       included) of exp(|m_test* - m|),   score = w * s*,
 * with b = 9 (anomalib's num_neighbors); b = 1 gives the plain maximum.
 */
import { frozenMatMul } from "../common/frozen-matmul.js";
import { transposeArray } from "../common/features.js";

export interface PatchDistances {
  /** [n] Euclidean distance of each query row to its nearest memory row. */
  distance: Float32Array;
  /** [n] index of that memory row. */
  index: Int32Array;
}

function squaredNorms(x: Float32Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += x[i * d + k]! * x[i * d + k]!;
    out[i] = s;
  }
  return out;
}

/** Memory laid out for the search: rows [m, d], its transpose and squared norms. */
export interface SearchMemory {
  rows: Float32Array;
  rowsT: Float32Array;
  norms: Float64Array;
  m: number;
  d: number;
}

export function searchMemory(rows: Float32Array, m: number, d: number): SearchMemory {
  return { rows, rowsT: transposeArray(rows, m, d), norms: squaredNorms(rows, m, d), m, d };
}

/** Nearest memory row of each query row: |q|^2 + |m|^2 - 2 q.m, the products on onnxruntime. */
export async function nearestEuclidean(query: Float32Array, n: number, mem: SearchMemory): Promise<PatchDistances> {
  const dots = await frozenMatMul(query, n, mem.d, mem.rowsT, mem.m);
  const qn = squaredNorms(query, n, mem.d);
  const distance = new Float32Array(n);
  const index = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    let arg = 0;
    for (let j = 0; j < mem.m; j++) {
      const s = qn[i]! + mem.norms[j]! - 2 * dots[i * mem.m + j]!;
      if (s < best) {
        best = s;
        arg = j;
      }
    }
    distance[i] = Math.sqrt(Math.max(0, best));
    index[i] = arg;
  }
  return { distance, index };
}

function euclid(a: Float32Array, ai: number, b: Float32Array, bi: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) {
    const t = a[ai * d + k]! - b[bi * d + k]!;
    s += t * t;
  }
  return Math.sqrt(s);
}

/** Eq. 7's re-weighted image score of one image, given its patch features [P, d] and their nearest-neighbour results. */
export function reweightedImageScore(patches: Float32Array, nn: PatchDistances, mem: SearchMemory, neighbours: number): number {
  let star = 0;
  for (let p = 1; p < nn.distance.length; p++) if (nn.distance[p]! > nn.distance[star]!) star = p;
  const s = nn.distance[star]!;
  const b = Math.min(neighbours, mem.m);
  if (b <= 1) return s;
  const mStar = nn.index[star]!;
  // The b nearest memory rows of m* (m* itself first, at distance 0).
  const order = Array.from({ length: mem.m }, (_, j) => j)
    .map((j) => ({ j, dist: euclid(mem.rows, mStar, mem.rows, j, mem.d) }))
    .sort((u, v) => u.dist - v.dist || (u.j === mStar ? -1 : v.j === mStar ? 1 : u.j - v.j))
    .slice(0, b);
  const dists = order.map(({ j }) => euclid(patches, star, mem.rows, j, mem.d));
  const top = Math.max(...dists);
  const exps = dists.map((x) => Math.exp(x - top));
  const w = 1 - exps[0]! / exps.reduce((a, c) => a + c, 0);
  return w * s;
}
