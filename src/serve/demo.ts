/**
 * `simclip serve` with no model: the demo backbone and the SimCLIP that `npm start` trains on the
 * synthetic benchmark (the same cache, so a finished `npm start` is reused and a missing piece is
 * built here), with some synthetic test images and normal references offered on the page.
 */
import path from "node:path";
import type { ClipModel } from "../clip/model.js";
import { DEMO_DIRECTION, demoSetup } from "../experiments/demo.js";
import { ExperimentContext } from "../experiments/context.js";
import { loadCheckpoint, type LoadedCheckpoint } from "../models/common/checkpoint.js";
import { backboneDir } from "../experiments/resources.js";
import type { Sample } from "../data/sample.js";
import type { ServeSample } from "./routes.js";

export interface ServeDemo {
  model: ClipModel;
  modelDir: string;
  checkpoint: LoadedCheckpoint;
  samples: ServeSample[];
  /** The first sample class, so the prompts name what the samples show. */
  defaultCategory: string;
  dispose(): Promise<void>;
}

/** Per class of the demo's test set: this many anomalous and normal test images, and normal training images as references. */
const SAMPLES = { anomalous: 2, normal: 1, references: 2 };

export async function openServeDemo(opts: { dataDir: string; quick: boolean; log: (line: string) => void }): Promise<ServeDemo> {
  const setup = demoSetup(opts);
  opts.log(
    `simclip serve: demo backbone (random weights) and SimCLIP trained on the synthetic benchmark, cache ${setup.dataDir} (built on first use, as by npm start)`,
  );
  const ctx = await ExperimentContext.open(setup);
  try {
    const trained = await ctx.trained("simclip", DEMO_DIRECTION);
    trained.method.dispose?.();
    const test = await ctx.dataset(DEMO_DIRECTION.test);
    const samples = pickSamples(test.samples);
    return {
      model: ctx.model,
      modelDir: fromHere(backboneDir(setup.config)),
      checkpoint: await loadCheckpoint(fromHere(trained.checkpointDir)),
      samples,
      defaultCategory: samples[0]?.category ?? "object",
      dispose: () => ctx.dispose(),
    };
  } catch (err) {
    await ctx.dispose();
    throw err;
  }
}

/** Relative to the working directory when under it, so the page's predict command runs as shown from there. */
function fromHere(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return rel.length > 0 && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : dir;
}

function pickSamples(all: Sample[]): ServeSample[] {
  const out: ServeSample[] = [];
  const add = (s: Sample, role: ServeSample["role"]) =>
    out.push({
      id: `s${out.length}`,
      name: `${s.category}_${s.split}_${s.defectType}_${path.basename(s.imagePath)}`,
      category: s.category,
      role,
      file: s.imagePath,
    });
  for (const category of [...new Set(all.map((s) => s.category))]) {
    const of = all.filter((s) => s.category === category);
    of.filter((s) => s.split === "test" && s.label === 1)
      .slice(0, SAMPLES.anomalous)
      .forEach((s) => {
        add(s, "query");
      });
    of.filter((s) => s.split === "test" && s.label === 0)
      .slice(0, SAMPLES.normal)
      .forEach((s) => {
        add(s, "query");
      });
    of.filter((s) => s.split === "train")
      .slice(0, SAMPLES.references)
      .forEach((s) => {
        add(s, "reference");
      });
  }
  return out;
}
