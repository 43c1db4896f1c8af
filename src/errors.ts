/**
 * Typed errors. Every message says what was expected, what was found and where
 * (a file, a tensor name, an argument), so that a user can fix the input without reading code.
 * Each concern may subclass these for its own cases; catch `SimclipError` to catch them all.
 */
export class SimclipError extends Error {
  override name = "SimclipError";
}

/** A file or directory that should exist does not; the message names it and what to place there. */
export class MissingFileError extends SimclipError {
  override name = "MissingFileError";
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

/** A file exists but its contents are not what the format requires. */
export class FileFormatError extends SimclipError {
  override name = "FileFormatError";
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

/** An array or tensor has the wrong shape, length or values for the operation it was given to. */
export class ShapeError extends SimclipError {
  override name = "ShapeError";
}

/** An argument (option, CLI flag, configuration value) is outside what the function accepts. */
export class InvalidArgumentError extends SimclipError {
  override name = "InvalidArgumentError";
}
