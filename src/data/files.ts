/** Directory listing helpers shared by the folder-based loaders (MVTec, custom). */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { InvalidArgumentError, MissingFileError } from "../errors.js";
import { statOrUndefined } from "../fs-stat.js";

/** Extensions the folder loaders treat as images; anything else (e.g. .DS_Store, Thumbs.db) is ignored. */
export const IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"];

export async function isDirectory(p: string): Promise<boolean> {
  return (await statOrUndefined(p))?.isDirectory() ?? false;
}

export async function isFile(p: string): Promise<boolean> {
  return (await statOrUndefined(p))?.isFile() ?? false;
}

export async function requireDirectory(p: string, what: string): Promise<void> {
  if (!(await isDirectory(p))) throw new MissingFileError(p, `expected a directory (${what}); it does not exist`);
}

/** Sub-directory names, sorted; hidden ones (".git", ".ipynb_checkpoints") skipped. */
export async function listSubdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort();
}

/** Image files directly in `dir` (absolute paths, sorted); [] if `dir` does not exist. */
export async function listImages(dir: string, extensions = IMAGE_EXTENSIONS): Promise<string[]> {
  if (!(await isDirectory(dir))) return [];
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith(".") && extensions.includes(path.extname(e.name).toLowerCase()))
    .map((e) => path.join(dir, e.name))
    .sort();
}

/** Resolve the requested categories against the ones found; an unknown name lists the known ones. */
export function selectCategories(found: string[], requested: string[] | undefined, where: string): string[] {
  if (requested === undefined) return found;
  const unknown = requested.filter((c) => !found.includes(c));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      `unknown categor${unknown.length > 1 ? "ies" : "y"} ${unknown.map((c) => `"${c}"`).join(", ")} in ${where}; ` +
        `available: ${found.join(", ") || "(none)"}`,
    );
  }
  return [...new Set(requested)].sort();
}
