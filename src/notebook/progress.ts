/**
 * Progress in notebooks: an HTML bar in the cell output, replaced in place (tslab's updatable
 * display), instead of the terminal bar / log lines that src/progress.ts writes to stderr.
 *
 * A cell shows one line per job running at the same time, not one per job it ever ran: a finished
 * job's line is taken over by the next job of the same cell (a table's dozens of evaluations share
 * one line, a nested job such as the metrics of an evaluation gets a second one). Lines are never
 * reused across cells, since updating a display also rewrites it where an earlier cell showed it.
 */
import { setProgressFactory, type Progress } from "../progress.js";
import { escapeHtml } from "./html.js";
import { currentCellToken, inTslab, newUpdatableDisplay, NotInNotebookError, type TslabDisplay } from "./tslab.js";

/** At most one redraw per this many ms: each redraw is a message to the browser. */
const REDRAW_MS = 250;

export function progressHtml(label: string, done: number, total: number, seconds: number, info?: Record<string, string | number>): string {
  const rate = done / Math.max(seconds, 1e-3);
  const eta = rate > 0 && done < total ? `, ETA ${((total - done) / rate).toFixed(0)} s` : "";
  const extra = info
    ? ` · ${Object.entries(info)
        .map(([k, v]) => `${escapeHtml(k)}=${typeof v === "number" ? Number(v.toPrecision(4)) : escapeHtml(v)}`)
        .join(" ")}`
    : "";
  return (
    `<div style="font-family: monospace; font-size: 12px"><progress max="${total}" value="${done}" style="width: 240px; vertical-align: middle"></progress> ` +
    `${escapeHtml(label)}: ${done}/${total} (${rate.toFixed(2)}/s, ${seconds.toFixed(1)} s${eta})${extra}</div>`
  );
}

interface Line {
  display: TslabDisplay;
  busy: boolean;
}

let linesCell: unknown;
let lines: Line[] = [];

/** A line of the current cell that no running job holds, shown now if it is new. */
function takeLine(): Line {
  const cell = currentCellToken();
  if (cell !== linesCell) {
    linesCell = cell;
    lines = [];
  }
  let line = lines.find((l) => !l.busy);
  if (line === undefined) {
    line = { display: newUpdatableDisplay(), busy: false };
    lines.push(line);
  }
  line.busy = true;
  return line;
}

function htmlProgress(label: string, total: number): Progress {
  // A job with nothing to do (e.g. metrics when every category was already closed) gets no empty bar.
  if (total === 0) return { update() {}, stop() {} };
  const line = takeLine();
  const display = line.display;
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
    stop() {
      draw();
      line.busy = false;
    },
  };
}

/** Routes all simclip progress to HTML bars in the notebook (needs a tslab kernel). */
export function installNotebookProgress(): void {
  if (!inTslab()) throw new NotInNotebookError("installNotebookProgress needs a running tslab kernel; in plain Node progress already goes to stderr");
  lines = [];
  setProgressFactory(htmlProgress);
}
