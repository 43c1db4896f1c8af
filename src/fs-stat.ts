/**
 * `stat` for existence checks across the library (model directories, dataset folders): a path that
 * is absent (ENOENT, or under a file where a folder was expected: ENOTDIR) is undefined; any other
 * failure (EACCES, EIO) is thrown, never read as "absent" and silently worked around.
 */
import { stat } from "node:fs/promises";
import type { Stats } from "node:fs";

export async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw err;
  }
}
