/**
 * Prompt features from the frozen text tower, as the training-free methods use them (CLIP-AC,
 * APRIL-GAN): each prompt's text embedding (EOT feature @ CLIP's own text_projection) L2-normalised,
 * the state's prompts averaged and normalised again (the peers' ensemble rule,
 * docs/simclip.md), giving one [2, E] pair per class: normal, anomalous.
 */
import { ShapeError } from "../../errors.js";
import { PromptCache, type PromptSet, type TextTower } from "../common/prompts.js";

export function normalizeRow(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const r = 1 / Math.sqrt(s);
  return v.map((x) => x * r);
}

/** Mean of normalised rows [k, E] -> normalised [E]. */
export function ensembleEmbedding(rows: Float32Array[]): Float32Array {
  const e = rows[0]!.length;
  const mean = new Float32Array(e);
  for (const r of rows) {
    const u = normalizeRow(r);
    for (let i = 0; i < e; i++) mean[i]! += u[i]! / rows.length;
  }
  return normalizeRow(mean);
}

/** Per class, [2 * E]: the normalised normal and anomalous ensemble embeddings; memoised per class. */
export class FrozenPromptEmbeddings {
  private readonly cache: PromptCache<Float32Array>;

  constructor(
    tower: TextTower,
    build: (category: string) => PromptSet,
    private readonly embedDim: number,
  ) {
    const E = embedDim;
    this.cache = new PromptCache(tower, build, (s, out, first) => {
      if (out.textEmbeds.length !== out.n * E) {
        throw new ShapeError(`text tower returned ${out.textEmbeds.length} text-embedding values for ${out.n} prompts, expected ${out.n} x ${E}`);
      }
      let row = first;
      const take = (k: number): Float32Array[] => {
        const rows = Array.from({ length: k }, (_, j) => out.textEmbeds.slice((row + j) * E, (row + j + 1) * E));
        row += k;
        return rows;
      };
      const pair = new Float32Array(2 * E);
      pair.set(ensembleEmbedding(take(s.normal.length)), 0);
      pair.set(ensembleEmbedding(take(s.anomalous.length)), E);
      return pair;
    });
  }

  ensure(categories: string[]): Promise<void> {
    return this.cache.ensure(categories);
  }

  get(category: string): Float32Array {
    const p = this.cache.get(category);
    if (!p) throw new ShapeError(`no prompt embeddings for class "${category}": call prepare([...]) with it first`);
    return p;
  }

  /** [n, E] of (anomalous - normal) per image and [n, 2, E] of both, for the given per-image classes. */
  perImage(categories: string[]): { diff: Float32Array; pairs: Float32Array } {
    const E = this.embedDim;
    const diff = new Float32Array(categories.length * E);
    const pairs = new Float32Array(categories.length * 2 * E);
    categories.forEach((c, i) => {
      const p = this.get(c);
      pairs.set(p, i * 2 * E);
      for (let k = 0; k < E; k++) diff[i * E + k] = p[E + k]! - p[k]!;
    });
    return { diff, pairs };
  }
}
