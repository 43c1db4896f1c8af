/**
 * k-shot reference sets (the memory gallery of SimCLIP+, paper Eq. 7): k normal *training* images
 * of one category, drawn without replacement by a seeded shuffle. The pool is sorted by path first,
 * so the draw depends only on (the set of files, k, seed), not on directory listing order.
 * Differs from the peers, which use Python's random.sample: the same seed picks different files.
 */
import { InvalidArgumentError } from "../errors.js";
import { createRng } from "./random.js";
import type { Sample } from "./sample.js";

export function sampleFewShot(samples: Sample[], category: string, k: number, seed: number): Sample[] {
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError(`few-shot k must be a positive integer; got ${k}`);
  const pool = samples
    .filter((s) => s.category === category && s.split === "train" && s.label === 0)
    .sort((a, b) => (a.imagePath < b.imagePath ? -1 : a.imagePath > b.imagePath ? 1 : 0));
  if (pool.length < k) {
    throw new InvalidArgumentError(
      `few-shot k=${k} for category "${category}", but it has only ${pool.length} normal training image(s)` +
        (pool.length === 0 && !samples.some((s) => s.category === category) ? ` (no samples of that category at all)` : ""),
    );
  }
  const rng = createRng("few-shot", seed, category);
  // Partial Fisher-Yates: the first k positions are a uniform k-subset in uniform order.
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(pool.length - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, k);
}
