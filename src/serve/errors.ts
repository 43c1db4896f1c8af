/** Errors of `simclip serve` that become an HTTP answer: a status and a message the page shows as is. */
import { SimclipError } from "../errors.js";

/** A request the server refuses; `status` is its HTTP status, the message says what was expected and found. */
export class ServeRequestError extends SimclipError {
  override name = "ServeRequestError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** An upload that is not an image the models read (or too large, or empty). */
export class RejectedUploadError extends ServeRequestError {
  override name = "RejectedUploadError";
}

/** The job queue holds its maximum of waiting jobs; the request can be sent again later. */
export class QueueFullError extends ServeRequestError {
  override name = "QueueFullError";
  constructor(limit: number) {
    super(503, `the server already has ${limit} jobs waiting (its --max-queue); wait for some to finish and run again`);
  }
}
