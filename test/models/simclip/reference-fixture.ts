/** Loads test/fixtures/models/simclip_reference.json (made by make_simclip_reference.py) into a SimCLIP. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ClipConfig } from "../../../src/clip/config.js";
import type { TextOutput } from "../../../src/clip/model.js";
import { SimClip, simclipDims } from "../../../src/models/simclip/model.js";
import { resolveSimClipConfig } from "../../../src/models/simclip/config.js";
import type { ImageFeatures, TrainItem } from "../../../src/models/common/types.js";

interface T {
  shape: number[];
  data: number[];
}
export interface Reference {
  dims: { W: number; WT: number; E: number; L: number; G: number; S: number; patch: number; layers: number[]; hidden: number; seedDim: number; sigma: number };
  categories: string[];
  imageCategory: number[];
  labels: (0 | 1)[];
  tokens: Record<string, T>;
  pooled: T;
  masks: T;
  text: { prompts: string[]; lastHidden: T; eot: number[] }[];
  params: Record<string, T>;
  grads: Record<string, T>;
  loss: number;
  parts: Record<string, number>;
  scores: number[];
  mapsUnsmoothed: T;
  maps: T;
}

export const ref: Reference = JSON.parse(readFileSync(fileURLToPath(new URL("../../fixtures/models/simclip_reference.json", import.meta.url)), "utf8"));

export function referenceBackbone() {
  const d = ref.dims;
  const config: ClipConfig = {
    embedDim: d.E,
    activation: "quick-gelu",
    vision: { width: d.W, layers: 4, heads: 1, patchSize: d.patch, imageSize: d.S },
    text: { width: d.WT, layers: 1, heads: 1, contextLength: d.L, vocabSize: 100 },
    imageMean: [0.5, 0.5, 0.5],
    imageStd: [0.25, 0.25, 0.25],
  };
  const f32 = (t: T) => ({ data: Float32Array.from(t.data), shape: t.shape });
  const weights = new Map([
    ["visual.proj", f32(ref.params.visual_projection!)],
    ["text_projection", f32(ref.params.text_projection!)],
  ]);
  const byPrompt = new Map<string, { hidden: Float32Array; eot: number }>();
  for (const c of ref.text) {
    c.prompts.forEach((p, j) => {
      const per = d.L * d.WT;
      byPrompt.set(p, { hidden: Float32Array.from(c.lastHidden.data.slice(j * per, (j + 1) * per)), eot: c.eot[j]! });
    });
  }
  return {
    config,
    weights,
    fingerprint: "ab".repeat(32),
    async encodeText(texts: string[]): Promise<TextOutput> {
      const per = d.L * d.WT;
      const lastHiddenState = new Float32Array(texts.length * per);
      const eotIndex = texts.map((t, i) => {
        const e = byPrompt.get(t);
        if (!e) throw new Error(`reference has no prompt "${t}"`);
        lastHiddenState.set(e.hidden, i * per);
        return e.eot;
      });
      return { n: texts.length, inputIds: new Int32Array(texts.length * d.L), eotIndex, lastHiddenState, textEmbeds: new Float32Array(texts.length * d.E) };
    },
  };
}

export async function referenceModel(): Promise<SimClip> {
  const d = ref.dims;
  const bb = referenceBackbone();
  // The reference's prompts spell class names with spaces ("metal nut"); the released default is the raw folder name.
  const config = resolveSimClipConfig(
    { layers: d.layers, size: d.S, iptHidden: d.hidden, iptSeedDim: d.seedDim, sigma: d.sigma, classNames: "spaces" },
    simclipDims(bb.config),
  );
  const tensors = new Map(Object.entries(ref.params).map(([k, t]) => [k, { data: Float32Array.from(t.data), shape: t.shape }]));
  return SimClip.fromState(bb, { method: "simclip", config: { simclip: config, dims: simclipDims(bb.config), backbone: bb.fingerprint }, tensors });
}

export function referenceFeatures(): ImageFeatures[] {
  const d = ref.dims;
  const P = d.G * d.G;
  return ref.imageCategory.map((_, i) => ({
    patchTokens: new Map(d.layers.map((l) => [l, Float32Array.from(ref.tokens[String(l)]!.data.slice(i * P * d.W, (i + 1) * P * d.W))])),
    pooled: Float32Array.from(ref.pooled.data.slice(i * d.W, (i + 1) * d.W)),
    grid: d.G,
    width: d.W,
  }));
}

export function referenceItems(): TrainItem[] {
  const S2 = ref.dims.S * ref.dims.S;
  return referenceFeatures().map((features, i) => ({
    features,
    category: ref.categories[ref.imageCategory[i]!]!,
    label: ref.labels[i]!,
    mask: Uint8Array.from(ref.masks.data.slice(i * S2, (i + 1) * S2)),
  }));
}
