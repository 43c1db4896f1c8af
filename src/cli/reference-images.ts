/** The normal reference images of `--reference-dir`. */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { InvalidArgumentError, MissingFileError } from "../errors.js";
import { statOrUndefined } from "../fs-stat.js";

/** Extensions `listReferenceImages` takes (formats sharp decodes). */
const IMAGE_EXTENSIONS = new Set([".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"]);

/** The image files directly in `dir`, sorted by name (the k normal references of `--reference-dir`). */
export async function listReferenceImages(dir: string): Promise<string[]> {
  const info = await statOrUndefined(dir);
  if (!info?.isDirectory()) throw new MissingFileError(dir, "--reference-dir must be a directory of normal images of the class");
  const files = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase()))
    .map((e) => path.join(dir, e.name))
    .sort();
  if (files.length === 0)
    throw new InvalidArgumentError(`--reference-dir ${dir} holds no images (${[...IMAGE_EXTENSIONS].join(", ")}): put the k normal reference images there`);
  return files;
}
