/**
 * Writes a synthetic benchmark to disk in the real MVTec-AD or VisA layout (plus the peers'
 * meta.json), so that exactly the real loaders read it. Byte-identical for the same options.
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { InvalidArgumentError } from "../../errors.js";
import { startProgress } from "../../progress.js";
import { writeMetaJson } from "../meta-json.js";
import type { Dataset, Sample } from "../sample.js";
import { sortSamples } from "../sample.js";
import { VISA_SPLIT_CSV } from "../visa.js";
import { SYNTH_CATEGORIES, SYNTH_SETS } from "./categories.js";
import { renderSynthImage, type SynthImage } from "./render.js";

export interface SynthOptions {
  out: string;
  layout: "mvtec" | "visa";
  seed: number;
  /** Image side in pixels (default 256). */
  size?: number;
  /** Default: set A for the MVTec layout, set B for VisA (disjoint, for cross-dataset training). */
  categories?: string[];
  /** Per category (defaults 10, 6, 6). */
  trainCount?: number;
  testGoodCount?: number;
  testAnomalousCount?: number;
  /** VisA images are JPEG like the real dataset's .JPG files; masks stay lossless PNG. Default 95. */
  jpegQuality?: number;
}

/** Marks a folder as synthetic output (the loaders ignore plain files in the root). */
const MARKER = "simclip-synth.json";

interface Planned {
  split: "train" | "test";
  /** Unique within the split: selects the image's random stream. */
  index: number;
  /** Number in the file name: MVTec numbers each folder from 000. */
  fileIndex: number;
  defect: string | null;
}

export async function generateSynth(opts: SynthOptions): Promise<Dataset> {
  const size = opts.size ?? 256;
  const categories = opts.categories ?? [...SYNTH_SETS[opts.layout === "mvtec" ? "A" : "B"]];
  const counts = { train: opts.trainCount ?? 10, good: opts.testGoodCount ?? 6, anomalous: opts.testAnomalousCount ?? 6 };
  if (!Number.isInteger(size) || size < 64 || size > 2048) throw new InvalidArgumentError(`synthetic --size must be an integer in 64..2048; got ${size}`);
  for (const [k, v] of Object.entries(counts)) {
    if (!Number.isInteger(v) || v < (k === "train" ? 0 : 1))
      throw new InvalidArgumentError(`synthetic ${k} count must be an integer >= ${k === "train" ? 0 : 1}; got ${v}`);
  }
  for (const c of categories) {
    if (!(c in SYNTH_CATEGORIES)) throw new InvalidArgumentError(`unknown synthetic category "${c}"; available: ${Object.keys(SYNTH_CATEGORIES).join(", ")}`);
  }
  const root = path.resolve(opts.out);
  await claimOutput(root);
  // Regenerating into the same folder must not leave stale files of an earlier, larger run.
  for (const c of categories) await rm(path.join(root, c), { recursive: true, force: true });

  const plan = (category: string): Planned[] => {
    const defects = SYNTH_CATEGORIES[category]!.defects;
    return [
      ...Array.from({ length: counts.train }, (_, index) => ({ split: "train" as const, index, fileIndex: index, defect: null })),
      ...Array.from({ length: counts.good }, (_, index) => ({ split: "test" as const, index, fileIndex: index, defect: null })),
      ...Array.from({ length: counts.anomalous }, (_, i) => ({
        split: "test" as const,
        index: counts.good + i,
        fileIndex: Math.floor(i / defects.length),
        defect: defects[i % defects.length]!,
      })),
    ];
  };
  const total = categories.length * (counts.train + counts.good + counts.anomalous);
  const progress = startProgress(`synth ${opts.layout}`, total);
  const samples: Sample[] = [];
  let done = 0;
  for (const category of categories) {
    for (const item of plan(category)) {
      const img = renderSynthImage({ category, seed: opts.seed, size, key: `${item.split}/${item.index}`, defect: item.defect as SynthImage["defectType"] });
      samples.push(await (opts.layout === "mvtec" ? writeMvtec : writeVisa)(root, category, item, img, opts.jpegQuality ?? 95));
      progress.update(++done);
    }
  }
  progress.stop();
  const dataset: Dataset = { name: opts.layout, root, categories: [...categories].sort(), samples: sortSamples(samples) };
  if (opts.layout === "visa") await writeVisaCsv(dataset);
  await writeMetaJson(dataset);
  return dataset;
}

/**
 * Only an empty (or new) folder, or one this generator wrote before (it holds MARKER), may be
 * written: regenerating replaces category folders, which must never hit a real dataset's.
 */
async function claimOutput(root: string): Promise<void> {
  let entries: string[] = [];
  try {
    entries = await readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (entries.length > 0 && !entries.includes(MARKER)) {
    throw new InvalidArgumentError(`--out ${root} is not empty and was not written by "simclip synth" (no ${MARKER}); choose a new or empty folder`);
  }
  await mkdir(root, { recursive: true });
  await writeFile(path.join(root, MARKER), `${JSON.stringify({ generator: "simclip synth" })}\n`);
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

async function writePng(file: string, data: Uint8Array, size: number, channels: 1 | 3): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(
    file,
    await sharp(data, { raw: { width: size, height: size, channels } })
      .png()
      .toBuffer(),
  );
}

async function writeMask(file: string, img: SynthImage): Promise<void> {
  await writePng(
    file,
    img.mask.map((v) => v * 255),
    img.size,
    1,
  );
}

async function writeMvtec(root: string, category: string, item: Planned, img: SynthImage): Promise<Sample> {
  const folder = item.split === "train" ? "good" : (item.defect ?? "good");
  const name = pad(item.fileIndex, 3);
  const imagePath = path.join(root, category, item.split, folder, `${name}.png`);
  await writePng(imagePath, img.image, img.size, 3);
  let maskPath: string | null = null;
  if (item.defect !== null) {
    maskPath = path.join(root, category, "ground_truth", item.defect, `${name}_mask.png`);
    await writeMask(maskPath, img);
  }
  return { imagePath, maskPath, label: item.defect === null ? 0 : 1, category, defectType: folder, split: item.split };
}

async function writeVisa(root: string, category: string, item: Planned, img: SynthImage, quality: number): Promise<Sample> {
  // VisA numbers normal and anomalous images separately (Normal/0000.JPG, Anomaly/000.JPG).
  const anomalous = item.defect !== null;
  const name = anomalous ? pad(item.index, 3) : pad(item.split === "train" ? item.index : 1000 + item.index, 4);
  const imagePath = path.join(root, category, "Data", "Images", anomalous ? "Anomaly" : "Normal", `${name}.JPG`);
  await mkdir(path.dirname(imagePath), { recursive: true });
  await writeFile(
    imagePath,
    await sharp(img.image, { raw: { width: img.size, height: img.size, channels: 3 } })
      .jpeg({ quality })
      .toBuffer(),
  );
  let maskPath: string | null = null;
  if (anomalous) {
    maskPath = path.join(root, category, "Data", "Masks", "Anomaly", `${name}.png`);
    await writeMask(maskPath, img);
  }
  return { imagePath, maskPath, label: anomalous ? 1 : 0, category, defectType: anomalous ? "anomaly" : "good", split: item.split };
}

async function writeVisaCsv(dataset: Dataset): Promise<void> {
  const rel = (p: string | null) => (p === null ? "" : path.relative(dataset.root, p).split(path.sep).join("/"));
  const lines = ["object,split,label,image,mask"];
  for (const s of dataset.samples) lines.push([s.category, s.split, s.label ? "anomaly" : "normal", rel(s.imagePath), rel(s.maskPath)].join(","));
  const file = path.join(dataset.root, VISA_SPLIT_CSV);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${lines.join("\n")}\n`);
}
