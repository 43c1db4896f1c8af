/**
 * Access to the running tslab kernel, found at run time so that importing simclip never needs tslab
 * (plain node, the CLI and tests work without it).
 *
 * tslab's executor puts `__tslab__` on globalThis before running any cell, and its `require` hooks the
 * id "tslab" to the kernel's own module, the only instance connected to Jupyter. Resolving "tslab"
 * from simclip's own location instead could load a second, unconnected copy.
 */
import { SimclipError } from "../errors.js";

/** The part of tslab's public `Display` simclip uses. */
export interface TslabDisplay {
  html(s: string): void;
  markdown(s: string): void;
  png(b: Uint8Array): void;
  svg(s: string): void;
}

interface TslabModule {
  display: TslabDisplay;
  newDisplay(): TslabDisplay;
}

/** Raised when a display helper is called outside a tslab kernel. */
export class NotInNotebookError extends SimclipError {
  override name = "NotInNotebookError";
}

export function inTslab(): boolean {
  return tslabModule() !== undefined;
}

function tslabModule(): TslabModule | undefined {
  const hook = (globalThis as { __tslab__?: { require?: (id: string) => unknown } }).__tslab__;
  if (typeof hook?.require !== "function") return undefined;
  return hook.require("tslab") as TslabModule;
}

function requireTslab(what: string): TslabModule {
  const t = tslabModule();
  if (t === undefined) {
    throw new NotInNotebookError(
      `${what} needs a running tslab kernel (Jupyter with the kernel from \`npm run kernel:install\`), but this is plain Node; outside a notebook use the *Html functions, which return the HTML as a string`,
    );
  }
  return t;
}

/** Shows HTML in the current cell's output. */
export function showHtml(html: string): void {
  requireTslab("showHtml").display.html(html);
}

export function showMarkdown(md: string): void {
  requireTslab("showMarkdown").display.markdown(md);
}

export function showPng(png: Uint8Array): void {
  requireTslab("showPng").display.png(png);
}

/**
 * A token that differs between executed cells. tslab gives no cell id, but it installs a new
 * `process.stdout.write` for every execution (so that the cell's prints reach that cell), which is
 * what this returns.
 */
export function currentCellToken(): unknown {
  return process.stdout.write;
}

/** A display entry that each call replaces (progress bars, live loss curves). */
export function newUpdatableDisplay(): TslabDisplay {
  return requireTslab("newUpdatableDisplay").newDisplay();
}
