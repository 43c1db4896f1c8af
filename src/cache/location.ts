/**
 * Where simclip keeps its caches, decided here for every entry point. SIMCLIP_CACHE_DIR wins
 * (relative to the working directory); otherwise the default depends on what the cache serves:
 * - "project": the git-ignored data/ of the project being worked in (the nearest package.json at or
 *   above the working directory, so notebooks/ finds the project root). The demo, the notebooks,
 *   `simclip figures` and the experiments share it, so the tables reuse the demo's training run.
 * - "user": ~/.cache/simclip, for the commands that run on any folder (train, eval, predict): their
 *   feature cache should not appear inside whatever directory they are started from.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";

export type CacheScope = "project" | "user";

export interface CacheLocationOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export function cacheRoot(scope: CacheScope, opts: CacheLocationOptions = {}): string {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const explicit = env.SIMCLIP_CACHE_DIR;
  if (explicit !== undefined && explicit !== "") return path.resolve(cwd, explicit);
  return scope === "project" ? path.join(projectRoot(cwd), "data") : path.join(homedir(), ".cache", "simclip");
}

/** The nearest directory at or above `cwd` holding a package.json, else `cwd`. */
export function projectRoot(cwd: string): string {
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) return cwd;
  }
}
