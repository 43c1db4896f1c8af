/**
 * Images uploaded to `simclip serve`: checked by decoding them with sharp (the decoder the models'
 * preprocessing uses), kept in one temporary directory under random ids, and removed with it on
 * exit. A client's file name is only ever shown, never used as a path.
 */
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { IncomingMessage } from "node:http";
import sharp from "sharp";
import { RejectedUploadError, ServeRequestError } from "./errors.js";

/** sharp's format names the page takes -> the file extension the copy is stored under (predict's IMAGE_EXTENSIONS). */
const FORMATS: Record<string, string> = { png: "png", jpeg: "jpg", webp: "webp", tiff: "tif" };
const EXPECTED = "a PNG, JPEG, TIFF or WebP image";

export interface UploadLimits {
  /** Largest accepted upload, bytes. */
  maxBytes: number;
  /** Largest accepted image, pixels (a small file can decode to a huge image). */
  maxPixels: number;
  /** Uploads kept at once, bytes; the oldest ones no job needs are removed beyond it. */
  maxTotalBytes: number;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = { maxBytes: 20 * 1024 * 1024, maxPixels: 40_000_000, maxTotalBytes: 1024 * 1024 * 1024 };

export interface StoredImage {
  id: string;
  /** The client's file name, for display only. */
  name: string;
  format: string;
  width: number;
  height: number;
  bytes: number;
  /** The server's own copy (`<temp dir>/<id>.<ext>`). */
  file: string;
}

/** What the page learns about an upload. */
export type UploadInfo = Omit<StoredImage, "file">;

export function uploadInfo(img: StoredImage): UploadInfo {
  return { id: img.id, name: img.name, format: img.format, width: img.width, height: img.height, bytes: img.bytes };
}

/** Characters stripped from names a client sends (file names, class names) before they are shown or used in prompts. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this matches.
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;

/** The name a client gave, reduced to something safe to show and to offer as a download name. */
export function displayName(raw: string | undefined): string {
  let name = raw ?? "";
  try {
    name = decodeURIComponent(name);
  } catch {
    // Not percent-encoded: shown as sent.
  }
  name = name.split(/[\\/]/).pop()!.replace(CONTROL_CHARACTERS, "").trim().slice(0, 200);
  return name.length > 0 ? name : "image";
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class UploadStore {
  private readonly images = new Map<string, StoredImage>();
  /** Uploads a queued or running job reads: never removed to make room. */
  private readonly pins = new Map<string, number>();
  private total = 0;

  private constructor(
    readonly dir: string,
    readonly limits: UploadLimits,
  ) {}

  static async create(limits: UploadLimits = DEFAULT_UPLOAD_LIMITS): Promise<UploadStore> {
    return new UploadStore(await mkdtemp(path.join(os.tmpdir(), "simclip-serve-")), limits);
  }

  /** Checks `bytes` is an image the models read and keeps a copy; anything else is a RejectedUploadError. */
  async add(bytes: Buffer, clientName: string | undefined): Promise<UploadInfo> {
    const name = displayName(clientName);
    if (bytes.length === 0) throw new RejectedUploadError(400, `"${name}" is empty: expected ${EXPECTED}`);
    if (bytes.length > this.limits.maxBytes) throw tooLarge(name, bytes.length, this.limits.maxBytes);
    let meta: sharp.Metadata;
    try {
      meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    } catch (e) {
      throw new RejectedUploadError(415, `"${name}" is not an image: expected ${EXPECTED}, and sharp cannot read it (${(e as Error).message})`);
    }
    const ext = meta.format ? FORMATS[meta.format] : undefined;
    if (!ext) throw new RejectedUploadError(415, `"${name}" is a ${meta.format ?? "unknown"} file: expected ${EXPECTED}`);
    const width = meta.width ?? 0;
    const height = meta.height ?? 0;
    if (width * height > this.limits.maxPixels) {
      throw new RejectedUploadError(
        413,
        `"${name}" is ${width} x ${height} = ${width * height} pixels: the server takes images of at most ${this.limits.maxPixels} pixels`,
      );
    }
    try {
      // The header alone passes a truncated or corrupt file; decoding every pixel does not.
      await sharp(bytes, { failOn: "truncated" }).raw().toBuffer();
    } catch (e) {
      throw new RejectedUploadError(422, `"${name}" is a damaged ${meta.format.toUpperCase()} image: sharp cannot decode its pixels (${(e as Error).message})`);
    }
    this.makeRoom(bytes.length);
    const id = randomUUID();
    const file = path.join(this.dir, `${id}.${ext}`);
    await writeFile(file, bytes);
    const img: StoredImage = { id, name, format: meta.format, width, height, bytes: bytes.length, file };
    this.images.set(id, img);
    this.total += bytes.length;
    return uploadInfo(img);
  }

  /** The upload with this id; a malformed id is a 400, an unknown or removed one a 404. */
  get(id: unknown): StoredImage {
    if (typeof id !== "string" || !ID.test(id))
      throw new ServeRequestError(400, `expected an upload id (a UUID the server returned), found ${JSON.stringify(id)?.slice(0, 60)}`);
    const img = this.images.get(id);
    if (!img) throw new ServeRequestError(404, `upload ${id} is not on the server (never uploaded, or removed to make room): upload the image again`);
    return img;
  }

  pin(images: StoredImage[]): void {
    for (const { id } of images) this.pins.set(id, (this.pins.get(id) ?? 0) + 1);
  }

  unpin(images: StoredImage[]): void {
    for (const { id } of images) {
      const n = (this.pins.get(id) ?? 1) - 1;
      if (n > 0) this.pins.set(id, n);
      else this.pins.delete(id);
    }
  }

  /** Removes the oldest unpinned uploads (Map order = upload order) until `incoming` more bytes fit. */
  private makeRoom(incoming: number): void {
    for (const img of this.images.values()) {
      if (this.total + incoming <= this.limits.maxTotalBytes) return;
      if (this.pins.has(img.id)) continue;
      this.images.delete(img.id);
      this.total -= img.bytes;
      rmSync(img.file, { force: true });
    }
    if (this.total + incoming > this.limits.maxTotalBytes) {
      throw new RejectedUploadError(
        503,
        `the server keeps at most ${this.limits.maxTotalBytes} bytes of uploads and the waiting jobs need all of them: wait for them to finish`,
      );
    }
  }

  async dispose(): Promise<void> {
    this.images.clear();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** For a process exit handler, where nothing asynchronous runs any more. */
  disposeSync(): void {
    this.images.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function tooLarge(name: string, bytes: number, max: number): RejectedUploadError {
  return new RejectedUploadError(413, `"${name}" is ${bytes} bytes: the server takes uploads of at most ${max} bytes`);
}

/**
 * The body of a request, at most `max` bytes. A larger body is read to its end and dropped (so the
 * client gets the 413 instead of a reset connection) unless it runs far past the limit.
 */
export function readBody(req: IncomingMessage, max: number, name: string | undefined): Promise<Buffer> {
  const hardCap = 4 * max + 1024 * 1024;
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? NaN);
    if (declared > hardCap) {
      req.resume();
      reject(tooLarge(displayName(name), declared, max));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else if (size > hardCap) req.destroy();
    });
    req.on("end", () => (size > max ? reject(tooLarge(displayName(name), size, max)) : resolve(Buffer.concat(chunks))));
    req.on("error", reject);
    req.on("close", () => {
      if (!req.complete) reject(new ServeRequestError(400, `the upload of "${displayName(name)}" ended before its ${declared || "announced"} bytes arrived`));
    });
  });
}
