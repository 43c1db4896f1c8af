/** The image part of the cache key: sha256 of the file's bytes (so a renamed or copied file hits, an edited one misses). */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { MissingFileError } from "../errors.js";
import { statOrUndefined } from "../fs-stat.js";

const memo = new Map<string, { mtimeMs: number; size: number; hash: string }>();

export async function contentHash(file: string): Promise<string> {
  const st = await statOrUndefined(file);
  if (!st) throw new MissingFileError(file, "image to extract features from does not exist");
  const known = memo.get(file);
  if (known && known.mtimeMs === st.mtimeMs && known.size === st.size) return known.hash;
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  const hash = h.digest("hex");
  memo.set(file, { mtimeMs: st.mtimeMs, size: st.size, hash });
  return hash;
}
