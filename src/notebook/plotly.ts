/**
 * Interactive plotly figures in notebooks, offline: plotly.js is read from the installed
 * plotly.js-dist package and inlined once per kernel session (the first figure carries it), so
 * nothing is fetched from a CDN; exported HTML works from a file without a network.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { randomBytes } from "node:crypto";
import { showHtml } from "./tslab.js";

export interface PlotlyFigure {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

let libraryScript: string | undefined;
let librarySent = false;

/**
 * A script tag defining window.Plotly. The bundle is run with `module`, `exports` and `define`
 * shadowed so that its UMD wrapper takes the browser path even inside Jupyter's require.js page.
 */
export function plotlyLibraryHtml(): string {
  if (libraryScript === undefined) {
    const require = createRequire(import.meta.url);
    const src = readFileSync(require.resolve("plotly.js-dist"), "utf8").replace(/<\/script/gi, "<\\/script");
    libraryScript = `<script type="text/javascript">(function (module, exports, define) {\n${src}\n}).call(window);</script>`;
  }
  return libraryScript;
}

/**
 * A div and the script that draws the figure into it once window.Plotly exists (the library may
 * come from an earlier output of the same page).
 */
export function plotlyFigureHtml(fig: PlotlyFigure, opts: { includeLibrary?: boolean } = {}): string {
  const id = `simclip-plot-${randomBytes(6).toString("hex")}`;
  const json = JSON.stringify({ data: fig.data, layout: fig.layout ?? {}, config: { responsive: true, displaylogo: false, ...fig.config } }).replace(
    /</g,
    "\\u003c",
  );
  // After 10 s without plotly.js (outputs holding it were cleared while the kernel kept running),
  // the div says how to recover instead of staying blank.
  const missing = "plotly.js is not loaded on this page (were outputs cleared?): run showPlotlyLibrary() and re-run this cell.";
  const draw =
    `<script type="text/javascript">(function () { var fig = ${json}, tries = 0;` +
    ` function draw() { if (window.Plotly) { window.Plotly.newPlot(${JSON.stringify(id)}, fig.data, fig.layout, fig.config); }` +
    ` else if (++tries < 200) { setTimeout(draw, 50); } else { document.getElementById(${JSON.stringify(id)}).textContent = ${JSON.stringify(missing)}; } }` +
    ` draw(); })();</script>`;
  const height = typeof fig.layout?.height === "number" ? `${fig.layout.height}px` : "420px";
  return `${opts.includeLibrary ? plotlyLibraryHtml() : ""}<div id="${id}" class="simclip-plotly" style="width: 100%; height: ${height};"></div>${draw}`;
}

/** Sends plotly.js to the page again (after outputs holding it were cleared). */
export function showPlotlyLibrary(): void {
  showHtml(plotlyLibraryHtml());
  librarySent = true;
}

/** Shows a figure in the current cell; the first figure of a kernel session also carries plotly.js. */
export function showPlotly(fig: PlotlyFigure): void {
  showHtml(plotlyFigureHtml(fig, { includeLibrary: !librarySent }));
  librarySent = true;
}
