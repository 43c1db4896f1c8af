/**
 * Early checks of the files a dataset lists: every image and mask must decode far enough for sharp
 * to read its header, and a mask must have its image's size. Failing here names the file, instead of
 * failing an hour into feature extraction.
 */
import sharp from "sharp";
import { FileFormatError, MissingFileError } from "../errors.js";
import type { Sample } from "./sample.js";

async function imageSize(file: string, role: string): Promise<{ width: number; height: number }> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(file).metadata();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new MissingFileError(file, `${role} does not exist`);
    throw new FileFormatError(file, `${role} is not a readable image (${(err as Error).message}); replace or remove it`);
  }
  if (!meta.width || !meta.height) throw new FileFormatError(file, `${role} has no width/height in its header`);
  return { width: meta.width, height: meta.height };
}

/** Throws a `FileFormatError` naming the first unreadable image, or the first mask whose size differs. */
export async function checkSamples(samples: Sample[], concurrency = 8): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < samples.length) {
      const s = samples[next++]!;
      const img = await imageSize(s.imagePath, "image");
      if (s.maskPath === null) continue;
      const mask = await imageSize(s.maskPath, `mask of ${s.imagePath}`);
      if (mask.width !== img.width || mask.height !== img.height) {
        throw new FileFormatError(
          s.maskPath,
          `mask is ${mask.width}x${mask.height} but its image ${s.imagePath} is ${img.width}x${img.height}; masks must have exactly their image's size`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, samples.length) }, worker));
}
