/**
 * VisA (Zou et al., ECCV 2022) through its split file `<root>/split_csv/1cls.csv` (columns
 * object, split, label, image, mask; paths relative to the root; label normal|anomaly), the split
 * the SimCLIP/APRIL-GAN peers use. VisA's CSV carries no defect type, so anomalous samples get
 * defectType "anomaly". VisA masks are not strictly 0/1: consumers binarise with > 0 (see clip/preprocess).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { FileFormatError, MissingFileError } from "../errors.js";
import { checkSamples } from "./check.js";
import { parseCsv } from "./csv.js";
import { EmptyCategoryError } from "./errors.js";
import { isFile, requireDirectory, selectCategories } from "./files.js";
import { sortSamples, type Dataset, type DatasetLoadOptions, type Sample } from "./sample.js";

export const VISA_SPLIT_CSV = path.join("split_csv", "1cls.csv");
const COLUMNS = ["object", "split", "label", "image", "mask"] as const;

export async function loadVisa(root: string, opts: DatasetLoadOptions = {}): Promise<Dataset> {
  root = path.resolve(root);
  await requireDirectory(root, "VisA dataset root");
  const csvPath = path.join(root, VISA_SPLIT_CSV);
  let text: string;
  try {
    text = await readFile(csvPath, "utf8");
  } catch {
    throw new MissingFileError(csvPath, "VisA split file not found; it ships with VisA as split_csv/1cls.csv (columns object,split,label,image,mask)");
  }
  const [header, ...rows] = parseCsv(text, csvPath);
  if (header === undefined) throw new FileFormatError(csvPath, "the file is empty; expected a header object,split,label,image,mask");
  const col = Object.fromEntries(COLUMNS.map((c) => [c, header.fields.map((f) => f.trim()).indexOf(c)])) as Record<(typeof COLUMNS)[number], number>;
  const missing = COLUMNS.filter((c) => col[c] < 0);
  if (missing.length > 0) {
    throw new FileFormatError(
      csvPath,
      `header lacks column(s) ${missing.join(", ")}; found ${header.fields.join(",")}; expected object,split,label,image,mask`,
    );
  }

  const parsed: (Sample & { line: number })[] = [];
  for (const { line, fields } of rows) {
    if (fields.length !== header.fields.length) {
      throw new FileFormatError(csvPath, `line ${line}: ${fields.length} fields, but the header has ${header.fields.length}`);
    }
    const get = (c: (typeof COLUMNS)[number]) => fields[col[c]]!.trim();
    const split = get("split");
    const label = get("label");
    if (split !== "train" && split !== "test") throw new FileFormatError(csvPath, `line ${line}: split is "${split}"; expected train or test`);
    if (label !== "normal" && label !== "anomaly") throw new FileFormatError(csvPath, `line ${line}: label is "${label}"; expected normal or anomaly`);
    const mask = get("mask");
    if (label === "anomaly" && mask === "") {
      throw new FileFormatError(csvPath, `line ${line}: anomalous image ${get("image")} has an empty mask column; every anomaly row needs a mask path`);
    }
    parsed.push({
      line,
      imagePath: path.resolve(root, get("image")),
      maskPath: label === "anomaly" ? path.resolve(root, mask) : null,
      label: label === "anomaly" ? 1 : 0,
      category: get("object"),
      defectType: label === "anomaly" ? "anomaly" : "good",
      split,
    });
  }
  const found = [...new Set(parsed.map((s) => s.category))].sort();
  const categories = selectCategories(found, opts.categories, `VisA split file ${csvPath}`);
  const selected = parsed.filter((s) => categories.includes(s.category));
  for (const category of categories) {
    if (!selected.some((s) => s.category === category && s.split === "test")) {
      throw new EmptyCategoryError(csvPath, `object "${category}" has no test rows`);
    }
  }
  for (const s of selected) {
    for (const [p, role] of [
      [s.imagePath, "image"],
      [s.maskPath, "mask"],
    ] as const) {
      if (p !== null && !(await isFile(p))) {
        throw new MissingFileError(p, `${role} listed in ${csvPath} line ${s.line} does not exist (paths in the CSV are relative to ${root})`);
      }
    }
  }
  const samples: Sample[] = selected.map(({ line: _line, ...s }) => s);
  if (opts.check ?? true) await checkSamples(samples);
  return { name: "visa", root, categories, samples: sortSamples(samples) };
}
