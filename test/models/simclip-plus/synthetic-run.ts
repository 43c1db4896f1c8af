/**
 * SimCLIP+ on the synthetic benchmark, end to end through the production path: synthetic set B
 * (VisA layout) trains SimCLIP on its test split (the paper's cross-dataset protocol), set A (MVTec
 * layout) is evaluated few-shot with FD only, PAO only and both (Table 6), and zero-shot SimCLIP.
 * The backbone is the tiny random CLIP of test/fixtures/clip-tiny (64 px, 8 x 8 grid, 4 blocks).
 *
 * The test runs 1-shot; docs/simclip-plus.md's table comes from running this file directly:
 *   node --import tsx test/models/simclip-plus/synthetic-run.ts 1,2,4 5
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateSynth } from "../../../src/data/index.js";
import { ClipModel } from "../../../src/clip/model.js";
import { loadMask } from "../../../src/clip/preprocess.js";
import { FeatureCache, clipFeatureSource } from "../../../src/cache/index.js";
import { SimClip } from "../../../src/models/simclip/model.js";
import { SimClipPlus } from "../../../src/models/simclip-plus/model.js";
import type { SimClipPlusConfig } from "../../../src/models/simclip-plus/config.js";
import { evaluateMethod, type EvaluationResults } from "../../../src/models/common/evaluate.js";
import { samplesTrainSource } from "../../../src/models/common/train-data.js";

export const VARIANTS: Record<string, Partial<SimClipPlusConfig>> = {
  "FD only": { fd: true, pao: false },
  "PAO only": { fd: false, pao: true },
  "FD + PAO": { fd: true, pao: true },
  "FD + PAO, paper's wording": { fd: true, pao: true, weighting: "per-layer", imageScoreMap: "few-shot" },
};

export interface SyntheticRun {
  zeroShot: EvaluationResults;
  fewShot: Record<number, Record<string, EvaluationResults>>;
}

export async function runSyntheticFewShot(shots: number[], seeds: number[], variants = VARIANTS): Promise<SyntheticRun> {
  process.env.SIMCLIP_QUIET = "1";
  const dir = await mkdtemp(path.join(tmpdir(), "simclip-plus-synth-"));
  const model = await ClipModel.load(fileURLToPath(new URL("../../fixtures/clip-tiny", import.meta.url)));
  try {
    const S = 64,
      layers = [1, 2, 3, 4];
    const A = await generateSynth({ out: path.join(dir, "A"), layout: "mvtec", seed: 0, size: S, trainCount: 5, testGoodCount: 5, testAnomalousCount: 5 });
    const B = await generateSynth({ out: path.join(dir, "B"), layout: "visa", seed: 1, size: S, trainCount: 0, testGoodCount: 5, testAnomalousCount: 5 });
    const features = await FeatureCache.open(path.join(dir, "cache"), clipFeatureSource(model, { size: S, layers }));
    const simclip = await SimClip.create(model, { layers, size: S }, 111);
    const train = await samplesTrainSource(
      B.samples.filter((s) => s.split === "test"),
      { features, loadMask, size: S },
    );
    await simclip.fit(train, { epochs: 5, batchSize: 8, seed: 111 });
    const zeroShot = await evaluateMethod(simclip, A, { features, loadMask });
    const fewShot: SyntheticRun["fewShot"] = {};
    for (const k of shots) {
      const byVariant: SyntheticRun["fewShot"][number] = {};
      fewShot[k] = byVariant;
      for (const [name, cfg] of Object.entries(variants)) {
        byVariant[name] = await evaluateMethod(new SimClipPlus(simclip, cfg), A, { features, loadMask, shots: k, seeds });
      }
    }
    simclip.dispose();
    return { zeroShot, fewShot };
  } finally {
    await model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

const pct = (v: number) => (100 * v).toFixed(1);

/** A markdown table: rows = variants x shots, columns = metrics as mean +- std in percent. */
export function markdownTable(run: SyntheticRun): string {
  const metrics = Object.keys(run.zeroShot.mean);
  const lines = [`| shots | variant | ${metrics.join(" | ")} |`, `|---|---|${metrics.map(() => "---").join("|")}|`];
  lines.push(`| 0 | SimCLIP zero-shot | ${metrics.map((m) => pct(run.zeroShot.mean[m] as number)).join(" | ")} |`);
  for (const [k, byVariant] of Object.entries(run.fewShot)) {
    for (const [name, r] of Object.entries(byVariant)) {
      const cell = (v: number | { mean: number; std: number }) => (typeof v === "number" ? pct(v) : `${pct(v.mean)} ± ${pct(v.std)}`);
      lines.push(`| ${k} | ${name} | ${metrics.map((m) => cell(r.mean[m]!)).join(" | ")} |`);
    }
  }
  return lines.join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const shots = (process.argv[2] ?? "1,2,4").split(",").map(Number);
  const seeds = Array.from({ length: Number(process.argv[3] ?? 5) }, (_, i) => i);
  process.stdout.write(`${markdownTable(await runSyntheticFewShot(shots, seeds))}\n`);
}
