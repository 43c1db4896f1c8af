/**
 * The MVTec-AD folder layout and its relaxed "custom" variant share one reader:
 *   <root>/<category>/train/good/*            normal training images
 *   <root>/<category>/test/good/*             normal test images
 *   <root>/<category>/test/<defect>/*         anomalous test images
 *   <root>/<category>/ground_truth/<defect>/<stem>_mask.png   their masks
 * MVTec requires every folder and mask; custom makes train/ and ground_truth/ optional.
 */
import path from "node:path";
import { MissingFileError } from "../errors.js";
import { checkSamples } from "./check.js";
import { EmptyCategoryError } from "./errors.js";
import { isDirectory, isFile, listImages, listSubdirs, requireDirectory, selectCategories } from "./files.js";
import { sortSamples, type Dataset, type DatasetLoadOptions, type Sample } from "./sample.js";

export interface FolderLayoutRules {
  name: "mvtec" | "custom";
  imageExtensions: string[];
  /** MVTec: train/good must exist and hold images. Custom: optional (zero-shot use needs none). */
  trainRequired: boolean;
  /** MVTec: every anomalous image has a mask. Custom: only if the category has a ground_truth/ folder. */
  masksRequired: boolean;
}

export async function loadFolderLayout(root: string, opts: DatasetLoadOptions, rules: FolderLayoutRules): Promise<Dataset> {
  root = path.resolve(root);
  await requireDirectory(root, `${rules.name} dataset root`);
  const found: string[] = [];
  for (const d of await listSubdirs(root)) if (await isDirectory(path.join(root, d, "test"))) found.push(d);
  if (found.length === 0) {
    throw new EmptyCategoryError(
      root,
      `no category folders found: expected <root>/<category>/test/good/ and test/<defect>/ sub-folders (${rules.name} layout)`,
    );
  }
  const categories = selectCategories(found, opts.categories, `${rules.name} dataset ${root}`);
  const samples: Sample[] = [];
  for (const category of categories) samples.push(...(await loadCategory(root, category, rules)));
  if (opts.check ?? true) await checkSamples(samples);
  return { name: rules.name, root, categories, samples: sortSamples(samples) };
}

async function loadCategory(root: string, category: string, rules: FolderLayoutRules): Promise<Sample[]> {
  const dir = path.join(root, category);
  const samples: Sample[] = [];
  const trainDir = path.join(dir, "train", "good");
  if (rules.trainRequired) await requireDirectory(trainDir, `normal training images of "${category}"`);
  for (const imagePath of await listImages(trainDir, rules.imageExtensions)) {
    samples.push({ imagePath, maskPath: null, label: 0, category, defectType: "good", split: "train" });
  }
  if (rules.trainRequired && samples.length === 0) {
    throw new EmptyCategoryError(trainDir, `no ${rules.imageExtensions.join("/")} images: category "${category}" has no normal training images`);
  }
  const gtDir = path.join(dir, "ground_truth");
  const hasMasks = rules.masksRequired || (await isDirectory(gtDir));
  let testCount = 0;
  for (const defect of await listSubdirs(path.join(dir, "test"))) {
    const anomalous = defect !== "good";
    for (const imagePath of await listImages(path.join(dir, "test", defect), rules.imageExtensions)) {
      testCount++;
      const maskPath = anomalous && hasMasks ? await findMask(gtDir, defect, imagePath, rules) : null;
      samples.push({ imagePath, maskPath, label: anomalous ? 1 : 0, category, defectType: defect, split: "test" });
    }
  }
  if (testCount === 0) {
    throw new EmptyCategoryError(
      path.join(dir, "test"),
      `no ${rules.imageExtensions.join("/")} images in test/good/ or test/<defect>/: category "${category}" is empty`,
    );
  }
  return samples;
}

async function findMask(gtDir: string, defect: string, imagePath: string, rules: FolderLayoutRules): Promise<string> {
  const stem = path.basename(imagePath, path.extname(imagePath));
  // MVTec names masks <stem>_mask.png; custom datasets may also use the image's own stem.
  const candidates =
    rules.name === "mvtec"
      ? [path.join(gtDir, defect, `${stem}_mask.png`)]
      : [`${stem}_mask`, stem].flatMap((s) => rules.imageExtensions.map((e) => path.join(gtDir, defect, s + e)));
  for (const c of candidates) if (await isFile(c)) return c;
  throw new MissingFileError(
    candidates[0]!,
    `mask of anomalous image ${imagePath} not found` +
      (rules.name === "custom"
        ? ` (looked for ${stem}_mask.* and ${stem}.*; a custom category with a ground_truth/ folder needs a mask for every anomalous image, or remove ground_truth/ to use image-level labels only)`
        : `; MVTec-AD expects ground_truth/${defect}/${stem}_mask.png for every image in test/${defect}/`),
  );
}
