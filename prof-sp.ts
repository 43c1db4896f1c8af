import { tfReady } from "./src/tf.js";
import { createRng } from "./src/data/random.js";
import { SimClip } from "./src/models/simclip/model.js";
import { scoreChunk } from "./src/models/simclip/scoring.js";
import { SimClipPlus } from "./src/models/simclip-plus/model.js";
import { adaptPatches } from "./src/models/simclip-plus/zero-shot-grid.js";
import { featureDrivenMap } from "./src/models/simclip-plus/feature-map.js";
import { priorAwareMap } from "./src/models/simclip-plus/prior-aware.js";
const W = 1024, WT = 768, E = 768, CTX = 77;
const rng = createRng("p");
const randn = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
await tfReady();
const backbone: any = { config: { embedDim: E, vision: { width: W, layers: 24, heads: 16, patchSize: 14, imageSize: 336 }, text: { width: WT, layers: 12, heads: 12, contextLength: CTX, vocabSize: 49408 }, imageMean: [0,0,0], imageStd: [1,1,1] }, fingerprint: "x",
  weights: new Map([["visual.proj", { data: randn(W * E).map((v) => v * 0.03), shape: [W, E] }], ["text_projection", { data: randn(WT * E).map((v) => v * 0.03), shape: [WT, E] }]]),
  async encodeText(t: string[]) { return { n: t.length, inputIds: new Int32Array(t.length * CTX), eotIndex: t.map(() => 10), lastHiddenState: randn(t.length * CTX * WT), textEmbeds: new Float32Array(t.length * E) }; } };
const layers = [6, 12, 18, 24], P = 1369;
const img = () => ({ patchTokens: new Map(layers.map((l) => [l, randn(P * W)])), pooled: randn(W), grid: 37, width: W });
const sc = await SimClip.create(backbone, { layers, size: 518 });
const m = new SimClipPlus(sc);
await m.setMemory("bottle", [img(), img(), img(), img()]);
const q = [img(), img()];
const T = async (name: string, f: () => Promise<unknown> | unknown) => { await f(); const t = performance.now(); await f(); console.log(name, ((performance.now() - t) / 1000).toFixed(3)); };
await T("scoreChunk x2", () => scoreChunk(sc, q, ["bottle", "bottle"]));
await T("adapt x2 all layers", async () => { for (const l of layers) await adaptPatches(sc, l, new Float32Array(2 * P * W).fill(0.1), 2 * P); });
await T("search x2 all layers", async () => { for (const f of q) for (const l of layers) await m.memoryOf("bottle").gallery.search(l, f.patchTokens.get(l)!, P); });
await T("fd map x2", () => { for (let i = 0; i < 2; i++) featureDrivenMap(new Float32Array(P), 37, 518); });
await T("pao map x2", () => { for (let i = 0; i < 2; i++) priorAwareMap(new Float32Array(P), 37, 518, 7); });
await T("score x2", () => m.score({ features: q, categories: ["bottle", "bottle"] }));
