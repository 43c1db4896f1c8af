/** Dataset-specific errors; each is still a `SimclipError` (see src/errors.ts). */
import { SimclipError } from "../errors.js";

/** A category folder (or CSV object) that yields no images for a split the layout requires. */
export class EmptyCategoryError extends SimclipError {
  override name = "EmptyCategoryError";
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}
