/**
 * The `meta.json` index the APRIL-GAN / SimCLIP / AnomalyCLIP repositories generate for every
 * dataset: {"train": {cls: [item]}, "test": {cls: [item]}}, item = {img_path, mask_path ("" if
 * normal), cls_name, specie_name, anomaly: 0|1}, paths relative to the dataset root.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { FileFormatError, MissingFileError } from "../errors.js";
import { checkSamples } from "./check.js";
import { EmptyCategoryError } from "./errors.js";
import { isFile, requireDirectory, selectCategories } from "./files.js";
import { sortSamples, type Dataset, type DatasetLoadOptions, type Sample } from "./sample.js";

interface MetaItem {
  img_path: string;
  mask_path: string;
  cls_name: string;
  specie_name: string;
  anomaly: 0 | 1;
}
type MetaJson = Record<"train" | "test", Record<string, MetaItem[]>>;

export async function loadMetaJson(root: string, opts: DatasetLoadOptions = {}): Promise<Dataset> {
  root = path.resolve(root);
  await requireDirectory(root, "dataset root holding meta.json");
  const file = path.join(root, "meta.json");
  let meta: unknown;
  try {
    meta = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new MissingFileError(file, "no meta.json in the dataset root");
    throw new FileFormatError(file, `not valid JSON (${(err as Error).message})`);
  }
  const parsed: Sample[] = [];
  for (const split of ["train", "test"] as const) {
    const bySplit = (meta as Partial<MetaJson>)[split];
    if (bySplit === undefined) continue;
    if (typeof bySplit !== "object" || bySplit === null) throw new FileFormatError(file, `"${split}" must map class names to item lists`);
    for (const [cls, items] of Object.entries(bySplit)) {
      if (!Array.isArray(items)) throw new FileFormatError(file, `${split}.${cls} must be a list of items`);
      items.forEach((item: Partial<MetaItem>, i) => {
        const where = `${split}.${cls}[${i}]`;
        if (typeof item.img_path !== "string" || (item.anomaly !== 0 && item.anomaly !== 1)) {
          throw new FileFormatError(file, `${where} needs img_path (string) and anomaly (0 or 1); found ${JSON.stringify(item)}`);
        }
        const mask = typeof item.mask_path === "string" ? item.mask_path : "";
        parsed.push({
          imagePath: path.resolve(root, item.img_path),
          maskPath: mask === "" ? null : path.resolve(root, mask),
          label: item.anomaly,
          category: cls,
          defectType: item.specie_name ?? (item.anomaly ? "anomaly" : "good"),
          split,
        });
      });
    }
  }
  if (!(meta as Partial<MetaJson>).test) throw new FileFormatError(file, `no "test" section; expected {"train": {...}, "test": {...}}`);
  const found = [...new Set(parsed.map((s) => s.category))].sort();
  const categories = selectCategories(found, opts.categories, `meta file ${file}`);
  const samples = parsed.filter((s) => categories.includes(s.category));
  for (const c of categories) {
    if (!samples.some((s) => s.category === c && s.split === "test")) throw new EmptyCategoryError(file, `class "${c}" has no test items`);
  }
  for (const s of samples) {
    for (const p of [s.imagePath, s.maskPath]) {
      if (p !== null && !(await isFile(p))) throw new MissingFileError(p, `listed in ${file} but does not exist`);
    }
  }
  if (opts.check ?? true) await checkSamples(samples);
  return { name: "meta", root, categories, samples: sortSamples(samples) };
}

/** Write `<dataset.root>/meta.json` as the peers' scripts do (atomically: temp file + rename). */
export async function writeMetaJson(dataset: Dataset): Promise<string> {
  const meta: MetaJson = { train: {}, test: {} };
  for (const c of dataset.categories) {
    meta.train[c] = [];
    meta.test[c] = [];
  }
  for (const s of dataset.samples) {
    meta[s.split][s.category]!.push({
      img_path: path.relative(dataset.root, s.imagePath),
      mask_path: s.maskPath === null ? "" : path.relative(dataset.root, s.maskPath),
      cls_name: s.category,
      specie_name: s.defectType,
      anomaly: s.label,
    });
  }
  const file = path.join(dataset.root, "meta.json");
  await writeFile(`${file}.tmp-${process.pid}`, JSON.stringify(meta, null, 4));
  await rename(`${file}.tmp-${process.pid}`, file);
  return file;
}
