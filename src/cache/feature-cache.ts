/**
 * The frozen-feature cache: the boundary between the frozen backbone and everything trainable.
 *
 * Key = (source id: model fingerprint + preprocessing + size + layers) x (sha256 of the image bytes).
 * On disk: <dir>/<sha256(source id)[:16]>/source.json names the source; each image is one fp16 entry
 * file <2 hex>/<content hash>.f16 (format in entry.ts). The directory is the index: an entry exists
 * exactly when its file does, so there is no shared index file for concurrent writers to corrupt.
 *
 * Safety: every file is written to a private temp name and renamed into place (atomic on POSIX), so
 * a killed run leaves only whole entries (and temp files, removed by the next `open` once their
 * process is gone) and resumes where it stopped; two processes filling the same cache at most
 * compute an entry twice. Reads verify lengths and crc32s; a corrupt entry is recomputed with a
 * process warning (code SIMCLIP_CACHE_CORRUPT). Entries are read one image (or one layer) at a time,
 * so a VisA-scale cache never has to fit in memory.
 */
import { createHash, randomBytes } from "node:crypto";
import { type FileHandle, mkdir, open, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { FileFormatError, InvalidArgumentError, ShapeError } from "../errors.js";
import { startProgress } from "../progress.js";
import { contentHash } from "./content-hash.js";
import { CorruptEntryError, encodeEntry, readEntryHeader, readEntrySections, type EntryHeader } from "./entry.js";
import type { FeatureSourceInfo, ImageFeatures } from "./source.js";

const FORMAT = "simclip-feature-cache/1";
const TEMP = /\.tmp-(\d+)-[0-9a-f]+$/;

export class FeatureCache {
  private constructor(
    /** This source's folder inside the cache root. */
    readonly dir: string,
    readonly source: FeatureSourceInfo,
    private readonly layers: number[],
  ) {}

  static async open(dir: string, source: FeatureSourceInfo): Promise<FeatureCache> {
    const layers = [...new Set(source.layers)].sort((a, b) => a - b);
    if (layers.length === 0 || layers.some((l) => !Number.isInteger(l) || l < 1)) {
      throw new InvalidArgumentError(`feature source "${source.id}": layers must be 1-based integers, got [${source.layers.join(", ")}]`);
    }
    const sub = path.join(path.resolve(dir), createHash("sha256").update(source.id).digest("hex").slice(0, 16));
    await mkdir(sub, { recursive: true });
    const infoFile = path.join(sub, "source.json");
    const info = { format: FORMAT, id: source.id, layers };
    let existing: string | undefined;
    try {
      existing = await readFile(infoFile, "utf8");
    } catch (err) {
      // Only a first use of this folder writes the info file; an unreadable one is not overwritten.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      await atomicWrite(infoFile, JSON.stringify(info, null, 2));
    }
    if (existing !== undefined) {
      let parsed: { format?: string; id?: string };
      try {
        parsed = JSON.parse(existing);
      } catch {
        throw new FileFormatError(infoFile, "not valid JSON; delete this cache folder to rebuild it");
      }
      if (parsed.format !== FORMAT || parsed.id !== source.id) {
        throw new FileFormatError(
          infoFile,
          `belongs to source "${parsed.id}" (${parsed.format}), not "${source.id}" (${FORMAT}); delete this cache folder to rebuild it`,
        );
      }
    }
    await removeStaleTemps(sub);
    return new FeatureCache(sub, source, layers);
  }

  private entryFile(hash: string): string {
    return path.join(this.dir, hash.slice(0, 2), `${hash}.f16`);
  }

  /** Whether `imagePath`'s entry exists with a valid header (sections are verified on `get`). */
  async has(imagePath: string): Promise<boolean> {
    return this.headerOk(await contentHash(imagePath));
  }

  /** Extract and store every image whose entry is missing or broken, in batches, with progress. */
  async ensure(paths: string[]): Promise<void> {
    const byHash = new Map<string, string>();
    for (const p of paths) {
      const h = await contentHash(p);
      if (!byHash.has(h) && !(await this.headerOk(h))) byHash.set(h, p);
    }
    if (byHash.size === 0) return;
    const todo = [...byHash];
    const batch = this.source.batchSize ?? 8;
    const progress = startProgress("extract features", todo.length);
    try {
      for (let i = 0; i < todo.length; i += batch) {
        await this.compute(todo.slice(i, i + batch));
        progress.update(Math.min(i + batch, todo.length));
      }
    } finally {
      progress.stop();
    }
  }

  /**
   * Features of one image (computed first if missing; recomputed with a warning if corrupt). `layers`
   * restricts which layers are read from disk (default: all of the source's).
   */
  async get(imagePath: string, opts: { layers?: number[] } = {}): Promise<ImageFeatures> {
    const layers = opts.layers ?? this.layers;
    const extra = layers.filter((l) => !this.layers.includes(l));
    if (extra.length > 0) throw new ShapeError(`feature cache ${this.dir} holds layers ${this.layers.join(", ")}; layer(s) ${extra.join(", ")} requested`);
    const hash = await contentHash(imagePath);
    const file = this.entryFile(hash);
    try {
      return await this.read(file, hash, layers);
    } catch (err) {
      if (err instanceof CorruptEntryError) {
        process.emitWarning(`feature cache entry for ${imagePath} is corrupt (${err.message}); recomputing it`, { code: "SIMCLIP_CACHE_CORRUPT" });
      } else if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        throw err;
      }
    }
    await this.compute([[hash, imagePath]]);
    return this.read(file, hash, layers);
  }

  private async read(file: string, hash: string, layers: number[]): Promise<ImageFeatures> {
    const fh = await open(file, "r");
    try {
      const header = await readEntryHeader(fh, file);
      this.checkHeader(header, file, hash);
      return await readEntrySections(fh, file, header, layers);
    } finally {
      await fh.close();
    }
  }

  private checkHeader(header: EntryHeader, file: string, hash: string): void {
    if (header.sourceId !== this.source.id || header.contentHash !== hash) {
      throw new CorruptEntryError(file, `header names source "${header.sourceId}" / image ${header.contentHash}, expected "${this.source.id}" / ${hash}`);
    }
  }

  private async headerOk(hash: string): Promise<boolean> {
    const file = this.entryFile(hash);
    let fh: FileHandle;
    try {
      fh = await open(file, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
    try {
      this.checkHeader(await readEntryHeader(fh, file), file, hash);
      return true;
    } catch (err) {
      if (err instanceof CorruptEntryError) return false;
      throw err;
    } finally {
      await fh.close();
    }
  }

  private async compute(items: [hash: string, imagePath: string][]): Promise<void> {
    const features = await this.source.extract(items.map(([, p]) => p));
    if (features.length !== items.length) {
      throw new ShapeError(`feature source "${this.source.id}" returned ${features.length} results for ${items.length} images`);
    }
    for (let i = 0; i < items.length; i++) {
      const [hash] = items[i]!;
      const file = this.entryFile(hash);
      await mkdir(path.dirname(file), { recursive: true });
      await atomicWrite(file, encodeEntry(features[i]!, this.source.id, hash, this.layers));
    }
  }
}

/** Write to a private temp name, then rename over the target: readers see the old file or the whole new one. */
async function atomicWrite(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Temp files of processes that no longer exist are leftovers of a killed run. */
async function removeStaleTemps(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const m = e.isFile() ? TEMP.exec(e.name) : null;
    // Another process may be sweeping the same leftovers: only "already gone" is fine.
    if (m && !processAlive(Number(m[1]))) await unlink(path.join(e.parentPath, e.name)).catch(ignoreMissing);
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== "ENOENT") throw err;
}
