/**
 * What the `simclip serve` tests share: the tiny random CLIP of test/fixtures/clip-tiny, an untrained
 * SimCLIP checkpoint saved from it (64 px, layers 1-4), three synthetic images under distinct names
 * (an anomalous and a normal test image, a normal reference), and a server on 127.0.0.1.
 */
import { readdirSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ClipModel } from "../../src/clip/model.js";
import { generateSynth } from "../../src/data/index.js";
import { loadCheckpoint } from "../../src/models/common/checkpoint.js";
import { SimClip } from "../../src/models/simclip/model.js";
import { saveSimClip } from "../../src/models/simclip/factory.js";
import { Inspector } from "../../src/serve/inspector.js";
import { startServer, type ServeHandle, type ServeOptions } from "../../src/serve/server.js";

export const TINY = path.join(import.meta.dirname, "../fixtures/clip-tiny");
export const MAIN = path.join(import.meta.dirname, "../../src/cli/main.ts");
export const S = 64;
export const LAYERS = [1, 2, 3, 4];
export const CATEGORY = "nut";

export interface ServeFixture {
  tmp: string;
  model: ClipModel;
  checkpointDir: string;
  images: { anomalous: string; normal: string; reference: string };
  dispose(): Promise<void>;
}

export async function serveFixture(): Promise<ServeFixture> {
  process.env.SIMCLIP_QUIET = "1";
  const tmp = await mkdtemp(path.join(os.tmpdir(), "simclip-serve-test-"));
  const root = path.join(tmp, "synth");
  await generateSynth({ out: root, layout: "mvtec", seed: 0, size: S, categories: [CATEGORY], trainCount: 1, testGoodCount: 1, testAnomalousCount: 1 });
  const images = {
    anomalous: path.join(tmp, "nut_anomalous.png"),
    normal: path.join(tmp, "nut_normal.png"),
    reference: path.join(tmp, "nut_reference.png"),
  };
  const defect = readdirSync(path.join(root, CATEGORY, "test")).find((d) => d !== "good")!;
  await copyFile(path.join(root, CATEGORY, "test", defect, "000.png"), images.anomalous);
  await copyFile(path.join(root, CATEGORY, "test/good/000.png"), images.normal);
  await copyFile(path.join(root, CATEGORY, "train/good/000.png"), images.reference);
  const model = await ClipModel.load(TINY);
  const checkpointDir = path.join(tmp, "ckpt");
  const untrained = await SimClip.create(model, { size: S, layers: LAYERS });
  await saveSimClip(untrained, checkpointDir);
  untrained.dispose();
  return {
    tmp,
    model,
    checkpointDir,
    images,
    async dispose() {
      await model.dispose();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/** A server on 127.0.0.1 and a free port, with the fixture's model and checkpoint. */
export async function startFixtureServer(f: ServeFixture, opts: Omit<ServeOptions, "inspector"> = {}): Promise<ServeHandle & { inspector: Inspector }> {
  const inspector = await Inspector.create({ model: f.model, modelArg: TINY, checkpoint: await loadCheckpoint(f.checkpointDir) });
  const handle = await startServer({ inspector, port: 0, log: () => {}, ...opts });
  return {
    ...handle,
    inspector,
    async close() {
      await handle.close();
      inspector.dispose();
    },
  };
}

const run = promisify(execFile);

/** `simclip predict` as a user runs it; returns each image's JSON (by output name). */
export async function cliPredict(args: string[], outDir: string, names: string[]): Promise<Map<string, { score: number; map_npy: string }>> {
  await run(process.execPath, ["--import", "tsx", MAIN, "predict", ...args, "--out", outDir], { env: { ...process.env, SIMCLIP_QUIET: "1" } });
  const out = new Map<string, { score: number; map_npy: string }>();
  for (const n of names) out.set(n, JSON.parse(await readFile(path.join(outDir, `${n}.json`), "utf8")));
  return out;
}
