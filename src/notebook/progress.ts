/**
 * Progress in notebooks: an HTML bar in the cell output, replaced in place (tslab's updatable
 * display), instead of the terminal bar / log lines that src/progress.ts writes to stderr.
 */
import { setProgressFactory, type Progress } from "../progress.js";
import { escapeHtml } from "./html.js";
import { inTslab, newUpdatableDisplay, NotInNotebookError } from "./tslab.js";

/** At most one redraw per this many ms: each redraw is a message to the browser. */
const REDRAW_MS = 250;

export function progressHtml(label: string, done: number, total: number, seconds: number, info?: Record<string, string | number>): string {
  const rate = done / Math.max(seconds, 1e-3);
  const eta = rate > 0 && done < total ? `, ETA ${((total - done) / rate).toFixed(0)} s` : "";
  const extra = info ? ` · ${Object.entries(info).map(([k, v]) => `${escapeHtml(k)}=${typeof v === "number" ? Number(v.toPrecision(4)) : escapeHtml(v)}`).join(" ")}` : "";
  return (
    `<div style="font-family: monospace; font-size: 12px"><progress max="${total}" value="${done}" style="width: 240px; vertical-align: middle"></progress> ` +
    `${escapeHtml(label)}: ${done}/${total} (${rate.toFixed(2)}/s, ${seconds.toFixed(1)} s${eta})${extra}</div>`
  );
}

function htmlProgress(label: string, total: number): Progress {
  // A job with nothing to do (e.g. metrics when every category was already closed) gets no empty bar.
  if (total === 0) return { update() {}, stop() {} };
  const display = newUpdatableDisplay();
  const start = Date.now();
  let last = 0;
  let done = 0;
  let info: Record<string, string | number> | undefined;
  const draw = () => display.html(progressHtml(label, done, total, (Date.now() - start) / 1000, info));
  draw();
  return {
    update(d, i) {
      done = d;
      info = i ?? info;
      if (Date.now() - last >= REDRAW_MS || d === total) {
        last = Date.now();
        draw();
      }
    },
    stop: draw,
  };
}

/** Routes all simclip progress to HTML bars in the notebook (needs a tslab kernel). */
export function installNotebookProgress(): void {
  if (!inTslab()) throw new NotInNotebookError("installNotebookProgress needs a running tslab kernel; in plain Node progress already goes to stderr");
  setProgressFactory(htmlProgress);
}
