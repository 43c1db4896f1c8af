/**
 * The backbone and datasets an experiment configuration names, opened the same way by every
 * experiment, notebook and `simclip figures`: real directories as given, otherwise the demo backbone
 * and the synthetic benchmark, written once into the cache directory and reused.
 */
import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { writeDemoModel } from "../clip/demo-model.js";
import { ClipModel } from "../clip/model.js";
import { loadDataset } from "../data/load.js";
import type { Dataset } from "../data/sample.js";
import { generateSynth } from "../data/synth/generate.js";
import type { ExperimentConfig } from "./config.js";

/**
 * Demo architectures: "tiny" in quick mode (CI), ViT-B/16 otherwise, which runs on two CPU cores
 * in minutes; the paper's ViT-L/14-336 needs a real checkpoint (SIMCLIP_MODEL) to mean anything.
 */
export function demoArch(config: ExperimentConfig): string {
  return config.quick ? "tiny" : "ViT-B-16";
}

/**
 * Writes into a temporary sibling and renames, so an interrupted run never leaves a half-written
 * directory behind; when notebooks run in parallel and another one finished first, its copy (the
 * same bytes: both writers are seeded) is kept.
 */
async function once(dir: string, write: (tmp: string) => Promise<unknown>): Promise<void> {
  if (existsSync(dir)) return;
  const tmp = `${dir}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  await write(tmp);
  try {
    await rename(tmp, dir);
  } catch (e) {
    if (!existsSync(dir)) throw e;
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The model directory `openBackbone` loads: the configured one, or where the demo backbone is written. */
export function backboneDir(config: ExperimentConfig): string {
  if (config.backbone.kind === "dir") return config.backbone.path;
  return path.join(config.cacheDir, `demo-${demoArch(config)}-seed0`);
}

export async function openBackbone(config: ExperimentConfig): Promise<ClipModel> {
  const dir = backboneDir(config);
  if (config.backbone.kind === "demo") await once(dir, (tmp) => writeDemoModel(tmp, { arch: demoArch(config), seed: 0 }));
  return ClipModel.load(dir);
}

/**
 * The MVTec-AD or VisA dataset of the configuration; the synthetic stand-in is written in the same
 * layout (so the real loaders read it), with the category sets the synthetic generator keeps
 * disjoint for cross-dataset training. Quick mode: 64 px, two categories, a few images each.
 */
export async function openDataset(config: ExperimentConfig, which: "mvtec" | "visa"): Promise<Dataset> {
  const setting = config[which];
  if (setting.kind === "dir") return loadDataset(`${which}:${setting.root}`);
  const dir = path.join(config.cacheDir, `synth-${which}-${config.quick ? "quick" : "full"}`);
  await once(dir, async (tmp) => {
    await generateSynth({
      out: tmp,
      layout: which,
      seed: 0,
      ...(config.quick
        ? { size: 64, categories: which === "mvtec" ? ["wood", "screw"] : ["grid", "capsule"], trainCount: 2, testGoodCount: 2, testAnomalousCount: 2 }
        : {}),
    });
    await writeFile(path.join(tmp, "SYNTHETIC.txt"), "Synthetic benchmark written by simclip notebooks; not MVTec-AD or VisA.\n");
  });
  return loadDataset(`${which}:${dir}`);
}
