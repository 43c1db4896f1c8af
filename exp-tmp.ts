import path from "node:path";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { generateSynth } from "./src/data/synth/index.js";
import { loadDataset } from "./src/data/load.js";
import { loadMask } from "./src/clip/preprocess.js";
import { FeatureCache } from "./src/cache/index.js";
import { evaluateMethod } from "./src/models/common/evaluate.js";
import { PatchCoreWideResNet } from "./src/models/patchcore/wide-resnet-method.js";
const dir = await mkdtemp(path.join(tmpdir(), "pcexp-"));
const imgSize = Number(process.argv[2] ?? 64);
await generateSynth({ out: path.join(dir, "A"), layout: "mvtec", seed: 0, size: imgSize, categories: ["screw", "pcb"], trainCount: 2, testGoodCount: 3, testAnomalousCount: 3 });
const ds = await loadDataset(`mvtec:${path.join(dir, "A")}`);
for (const [size, ratio, bn] of [[64, 0.1], [64, 1], [128, 0.1], [128, 1], [256, 0.1]] as [number, number][]) {
  const pc = new PatchCoreWideResNet({ kind: "random", seed: 0 }, { size, coresetRatio: ratio });
  const cache = await FeatureCache.open(path.join(dir, "cache"), pc.featureSource());
  const r = await evaluateMethod(pc, ds, { features: cache, loadMask, shots: 2, seeds: [0, 1], batchSize: 8 });
  console.log(size, ratio, JSON.stringify(r.mean));
  pc.dispose();
}
