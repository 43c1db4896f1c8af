/**
 * Text prompts and their frozen text-tower features, computed once per class and reused by every batch
 * (the text tower is frozen for SimCLIP, SimCLIP+ and APRIL-GAN; IPT works on its ln_final output).
 */
import type { TextOutput } from "../../clip/model.js";
import { ShapeError } from "../../errors.js";

/**
 * How a dataset folder name enters a prompt. "raw" (the released SimCLIP and APRIL-GAN code):
 * "metal_nut" as it is; "spaces": "metal nut", as a reader of the paper might expect.
 */
export type PromptClassNames = "raw" | "spaces";

export function promptClassName(category: string, style: PromptClassNames = "raw"): string {
  return style === "spaces" ? category.replace(/_/g, " ") : category;
}

/** Prompts of one class grouped by state: index 0 = normal, 1 = anomalous. */
export interface PromptSet {
  normal: string[];
  anomalous: string[];
}

/** SimCLIP's binary prompts, paper Eq. 3 (the authors' code uses only these two). */
export function simclipPrompts(category: string, style: PromptClassNames = "raw"): PromptSet {
  const name = promptClassName(category, style);
  return { normal: [`a photo of a ${name} without defect.`], anomalous: [`a photo of a ${name} with defect.`] };
}

/** Anything that runs the frozen text tower (ClipModel, or a stand-in in tests). */
export interface TextTower {
  encodeText(texts: string[]): Promise<TextOutput>;
}

/** Frozen text features of one class's prompts, normal prompts first. */
export interface PromptFeatures {
  texts: string[];
  /** 0 for each normal prompt, 1 for each anomalous one, in `texts` order. */
  states: (0 | 1)[];
  /** ln_final output [n, contextLength, width]. */
  lastHidden: Float32Array;
  eotIndex: number[];
  contextLength: number;
  width: number;
}

/** Encode each class's prompts once (memoised per class name; the tower is frozen). */
/**
 * Per class, what `pick` keeps of its prompt set's text-tower output; the classes not yet held are
 * encoded together, in one text-tower call, and memoised (SimCLIP's hidden states, the training-free
 * methods' ensemble embeddings).
 */
export class PromptCache<V> {
  private readonly byCategory = new Map<string, V>();

  constructor(
    private readonly tower: TextTower,
    private readonly build: (category: string) => PromptSet,
    /** What to keep of the class's prompts, rows `row`..`row + normal + anomalous - 1` of `out`. */
    private readonly pick: (set: PromptSet, out: TextOutput, row: number) => V,
  ) {}

  async ensure(categories: string[]): Promise<void> {
    const missing = [...new Set(categories)].filter((c) => !this.byCategory.has(c));
    if (missing.length === 0) return;
    const sets = missing.map((c) => this.build(c));
    const out = await this.tower.encodeText(sets.flatMap((s) => [...s.normal, ...s.anomalous]));
    let row = 0;
    missing.forEach((c, i) => {
      const s = sets[i]!;
      this.byCategory.set(c, this.pick(s, out, row));
      row += s.normal.length + s.anomalous.length;
    });
  }

  /** The class's value; undefined until `ensure` was called with it. */
  get(category: string): V | undefined {
    return this.byCategory.get(category);
  }
}

export class PromptFeatureStore {
  private readonly cache: PromptCache<PromptFeatures>;

  constructor(tower: TextTower, build: (category: string) => PromptSet = simclipPrompts) {
    this.cache = new PromptCache(tower, build, (s, out, row) => {
      const ctx = out.inputIds.length / out.n;
      const width = out.lastHiddenState.length / (out.n * ctx);
      if (!Number.isInteger(width)) {
        throw new ShapeError(`text tower returned lastHiddenState of ${out.lastHiddenState.length} values for ${out.n} prompts x ${ctx} tokens`);
      }
      const k = s.normal.length + s.anomalous.length;
      return {
        texts: [...s.normal, ...s.anomalous],
        states: [...s.normal.map(() => 0 as const), ...s.anomalous.map(() => 1 as const)],
        lastHidden: out.lastHiddenState.slice(row * ctx * width, (row + k) * ctx * width),
        eotIndex: out.eotIndex.slice(row, row + k),
        contextLength: ctx,
        width,
      };
    });
  }

  ensure(categories: string[]): Promise<void> {
    return this.cache.ensure(categories);
  }

  get(category: string): PromptFeatures {
    const f = this.cache.get(category);
    if (!f) throw new ShapeError(`no prompt features for class "${category}": call ensure([...]) with it first`);
    return f;
  }
}
