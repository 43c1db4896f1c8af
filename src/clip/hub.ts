/**
 * Hugging Face model ids -> a local model directory. A directory is used as is; an id such as
 * `openai/clip-vit-large-patch14-336` is downloaded once (the five HF-layout files the loader reads)
 * into a local cache and reused from there, with no network access when every file is present.
 * Each file is downloaded to a temporary name and renamed, so an interrupted download never leaves
 * a truncated file that a later run would take for complete.
 */
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { InvalidArgumentError, MissingFileError } from "../errors.js";
import { startProgress } from "../progress.js";
import { statOrUndefined } from "../fs-stat.js";

/** The Hugging Face layout files `loadClipDir` and `ClipTokenizer.fromDir` read. */
export const HF_MODEL_FILES = ["config.json", "model.safetensors", "vocab.json", "merges.txt", "preprocessor_config.json"] as const;

export interface ResolveModelOptions {
  /** Where downloaded models live (default: $SIMCLIP_HUB_CACHE or ~/.cache/simclip/hub). */
  cacheDir?: string;
  /** Hub base URL (default: $HF_ENDPOINT or https://huggingface.co). */
  endpoint?: string;
  /** Branch, tag or commit (default "main"). */
  revision?: string;
}

/** A model id could not be downloaded; the message lists which files to place where instead. */
export class HubDownloadError extends MissingFileError {
  override name = "HubDownloadError";
}

export function defaultHubCacheDir(): string {
  return process.env.SIMCLIP_HUB_CACHE ?? join(homedir(), ".cache", "simclip", "hub");
}

/** owner/name (or a bare legacy name) made of the characters the Hub allows. */
const HUB_ID = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/;

/** Local directory for a model id inside the cache (Hub-style `models--owner--name/<revision>`). */
export function hubModelCacheDir(id: string, opts: ResolveModelOptions = {}): string {
  return join(opts.cacheDir ?? defaultHubCacheDir(), `models--${id.replace(/\//g, "--")}`, opts.revision ?? "main");
}

/**
 * Returns a local model directory for `dirOrId`: an existing directory unchanged, otherwise the
 * cache directory of a Hugging Face id, downloading whatever files it still lacks.
 */
export async function resolveModelDir(dirOrId: string, opts: ResolveModelOptions = {}): Promise<string> {
  const local = await statOrUndefined(dirOrId);
  if (local?.isDirectory()) return dirOrId;
  if (local) throw new InvalidArgumentError(`${dirOrId} is a file; expected a model directory or a Hugging Face model id`);
  if (!HUB_ID.test(dirOrId) || dirOrId.includes("..")) {
    throw new MissingFileError(dirOrId, "no such model directory, and not a Hugging Face model id (owner/name)");
  }
  const endpoint = (opts.endpoint ?? process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
  const revision = opts.revision ?? "main";
  const dir = hubModelCacheDir(dirOrId, opts);
  const missing: string[] = [];
  for (const f of HF_MODEL_FILES) if (!(await statOrUndefined(join(dir, f)))) missing.push(f);
  if (missing.length === 0) return dir;
  await mkdir(dir, { recursive: true });
  for (const file of missing) {
    const url = `${endpoint}/${dirOrId}/resolve/${encodeURIComponent(revision)}/${file}`;
    await downloadFile(url, join(dir, file), (reason) => {
      const fix =
        `could not download ${file} from ${url} (${reason}). Offline or behind a proxy? Download ` +
        `${missing.join(", ")} from ${endpoint}/${dirOrId} and place them in ${dir} ` +
        `(or in any directory and pass that directory instead of the id)`;
      return new HubDownloadError(join(dir, file), fix);
    });
  }
  return dir;
}

async function downloadFile(url: string, dest: string, fail: (reason: string) => Error): Promise<void> {
  const headers: Record<string, string> = {};
  // Gated repositories need a token; the Hub's own tools read it from HF_TOKEN as well.
  if (process.env.HF_TOKEN) headers.authorization = `Bearer ${process.env.HF_TOKEN}`;
  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: "follow" });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw fail(cause?.code ?? cause?.message ?? (e as Error).message);
  }
  if (!res.ok || !res.body) throw fail(`HTTP ${res.status} ${res.statusText}`.trim());
  const total = Number(res.headers.get("content-length") ?? 0);
  const progress = total > 50_000_000 ? startProgress(`download ${url.split("/").pop()} (MB)`, Math.ceil(total / 1e6)) : undefined;
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      progress?.update(Math.floor(received / 1e6));
      cb(null, chunk);
    },
  });
  const tmp = `${dest}.download-${process.pid}-${Date.now()}`;
  try {
    await pipeline(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream), counter, createWriteStream(tmp));
    if (total > 0 && received !== total) throw new Error(`received ${received} of ${total} bytes`);
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    throw fail((e as Error).message);
  } finally {
    progress?.stop();
  }
}
