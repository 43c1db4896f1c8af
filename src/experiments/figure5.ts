/**
 * Paper Figure 5: text features of many prompts (class names of MVTec-AD and VisA x normal /
 * anomalous state phrasings x templates) as CLIP gives them and after IPT refinement by the trained
 * SimCLIP (trained on MVTec's test split), with a 2-D t-SNE of each. Only the text side is used, so
 * the real class names are used even on the synthetic setup.
 */
import { InvalidArgumentError } from "../errors.js";
import { SimClip } from "../models/simclip/model.js";
import { tsne2d } from "../viz/tsne.js";
import { CROSS_DATASET_DIRECTIONS, withExperiment, type ExperimentContext } from "./context.js";
import { cosine } from "./inspect.js";
import { experimentLabel, isSyntheticExperiment, type ExperimentSetup } from "./setup.js";

export const FIGURE5_CLASSES = [
  "bottle",
  "cable",
  "capsule",
  "carpet",
  "grid",
  "hazelnut",
  "leather",
  "metal nut",
  "pill",
  "screw",
  "tile",
  "toothbrush",
  "transistor",
  "wood",
  "zipper",
  "candle",
  "capsules",
  "cashew",
  "chewinggum",
  "fryum",
  "macaroni1",
  "macaroni2",
  "pcb1",
  "pcb2",
  "pcb3",
  "pcb4",
  "pipe fryum",
];

/** The WinCLIP / APRIL-GAN state ensemble (7 normal, 5 anomalous phrasings). */
export const FIGURE5_STATES = {
  normal: ["{}", "flawless {}", "perfect {}", "unblemished {}", "{} without flaw", "{} without defect", "{} without damage"],
  anomalous: ["damaged {}", "broken {}", "{} with flaw", "{} with defect", "{} with damage"],
} as const;

export const FIGURE5_TEMPLATES = ["a photo of a {}.", "a close-up photo of the {}.", "a cropped photo of a {}."];

export interface Figure5Options {
  classes?: string[];
  templates?: string[];
  /** t-SNE iterations (default 500); 0 skips the embeddings. */
  tsneIterations?: number;
  /** Which features get a t-SNE embedding (default both; the other's XY is null). */
  tsneOf?: "both" | "original" | "refined";
  seed?: number;
}

export interface Figure5Prompt {
  text: string;
  group: string;
  kind: "normal" | "anomalous";
}

export interface Figure5Data {
  prompts: Figure5Prompt[];
  dim: number;
  /** [n, dim] each row L2-normalised: CLIP's text embedding (x_eot @ text_projection). */
  original: Float32Array;
  /** [n, dim] each row L2-normalised: IPT(x) @ SimCLIP's trained text projection. */
  refined: Float32Array;
  originalXY: [number, number][] | null;
  refinedXY: [number, number][] | null;
  /** Per class: cosine of the mean normal and the mean anomalous prompt feature, before and after IPT. */
  stateCosines: { class: string; original: number; refined: number }[];
  setup: string;
  synthetic: boolean;
}

function normalizeRows(a: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += a[i + j]! ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) out[i + j] = a[i + j]! * inv;
  }
  return out;
}

/** Cosine of the centroids of `group`'s normal and anomalous rows of `features` ([n, dim]). */
function stateCosine(prompts: Figure5Prompt[], features: Float32Array, dim: number, group: string): number {
  const centroid = (kind: Figure5Prompt["kind"]) => {
    const m = new Float64Array(dim);
    const rows = prompts.flatMap((p, i) => (p.group === group && p.kind === kind ? [i] : []));
    for (const i of rows) for (let j = 0; j < dim; j++) m[j] += features[i * dim + j]! / rows.length;
    return m;
  };
  return cosine(centroid("normal"), centroid("anomalous"));
}

export function figure5Prompts(classes: string[], templates: string[]): Figure5Prompt[] {
  const out: Figure5Prompt[] = [];
  for (const group of classes)
    for (const kind of ["normal", "anomalous"] as const)
      for (const st of FIGURE5_STATES[kind]) for (const t of templates) out.push({ text: t.replace("{}", st.replace("{}", group)), group, kind });
  return out;
}

export async function figure5(on: ExperimentSetup | ExperimentContext, opts: Figure5Options = {}): Promise<Figure5Data> {
  return withExperiment(on, async (ctx) => {
    const quick = ctx.setup.config.quick;
    const prompts = figure5Prompts(
      opts.classes ?? FIGURE5_CLASSES.slice(0, quick ? 4 : undefined),
      opts.templates ?? FIGURE5_TEMPLATES.slice(0, quick ? 1 : undefined),
    );
    const out = await ctx.model.encodeText(prompts.map((p) => p.text));
    const n = prompts.length;
    const E = ctx.model.config.embedDim;
    const t = await ctx.trained("simclip", CROSS_DATASET_DIRECTIONS[0]!);
    if (!(t.method instanceof SimClip)) throw new InvalidArgumentError(`Figure 5 needs a trained SimCLIP; got method "${t.method.name}"`);
    const simclip = t.method;
    let features: { original: Float32Array; refined: Float32Array };
    try {
      features = simclip.textFeatures(out);
    } finally {
      simclip.dispose();
    }
    const original = normalizeRows(features.original, E);
    const refined = normalizeRows(features.refined, E);
    const iterations = opts.tsneIterations ?? 500;
    const of = opts.tsneOf ?? "both";
    const embed = (a: Float32Array, which: "original" | "refined") =>
      iterations === 0 || (of !== "both" && of !== which) ? null : tsne2d(a, n, E, { seed: opts.seed ?? 0, iterations });
    const stateCosines = [...new Set(prompts.map((p) => p.group))].map((g) => ({
      class: g,
      original: stateCosine(prompts, original, E, g),
      refined: stateCosine(prompts, refined, E, g),
    }));
    return {
      prompts,
      dim: E,
      original,
      refined,
      originalXY: embed(original, "original"),
      refinedXY: embed(refined, "refined"),
      stateCosines,
      setup: experimentLabel(ctx.setup),
      synthetic: isSyntheticExperiment(ctx.setup),
    };
  });
}
