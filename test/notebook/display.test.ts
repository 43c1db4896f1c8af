import { test } from "node:test";
import assert from "node:assert/strict";
import { startProgress, setProgressFactory } from "../../src/progress.js";
import { heatmapGridFigure, rocFigure, scatterFigure } from "../../src/notebook/figures.js";
import { plotlyFigureHtml, plotlyLibraryHtml, showPlotly } from "../../src/notebook/plotly.js";
import { installNotebookProgress, progressHtml } from "../../src/notebook/progress.js";
import { inTslab, NotInNotebookError, showHtml } from "../../src/notebook/tslab.js";
import { rocCurve } from "../../src/viz/curves.js";
import { at } from "../at.js";

/** A stand-in for the tslab kernel: what its executor puts on globalThis, recording display calls. */
function fakeKernel(): { outputs: { id: number; html: string }[]; remove(): void } {
  const outputs: { id: number; html: string }[] = [];
  let displays = 0;
  const make = (id: number) => ({ html: (s: string) => outputs.push({ id, html: s }), markdown() {}, png() {}, svg() {} });
  const tslab = { display: make(0), newDisplay: () => make(++displays) };
  (globalThis as Record<string, unknown>).__tslab__ = { require: (id: string) => (id === "tslab" ? tslab : undefined) };
  return { outputs, remove: () => delete (globalThis as Record<string, unknown>).__tslab__ };
}

test("outside a kernel: detection is false and display helpers raise NotInNotebookError", () => {
  assert.equal(inTslab(), false);
  assert.throws(() => showHtml("<b>x</b>"), NotInNotebookError);
  assert.throws(() => installNotebookProgress(), NotInNotebookError);
});

test("plotly HTML: offline library with window.Plotly, figure JSON drawn into its own div", () => {
  const lib = plotlyLibraryHtml();
  assert.ok(lib.length > 1_000_000, "the whole plotly.js bundle is inlined");
  assert.ok(lib.includes("window.Plotly = Plotly"));
  assert.equal(lib.match(/<\/script/gi)?.length, 1, "only the closing tag: the inlined code cannot end the script early");
  assert.doesNotMatch(lib, /src=["']https?:/);
  const html = plotlyFigureHtml({ data: [{ type: "scatter", x: [1], y: ["</script>"] }], layout: { height: 300 } });
  const id = html.match(/<div id="(simclip-plot-[0-9a-f]+)"/)?.[1];
  assert.ok(id);
  assert.ok(html.includes(`newPlot("${id}"`));
  assert.ok(html.includes("height: 300px"));
  assert.equal(html.match(/<\/script/gi)?.length, 1, "data cannot close the script tag");
});

test("figure builders: traces per cell, curve points, one trace per class and prompt kind", async () => {
  const size = 8;
  const image = { data: new Uint8Array(size * size * 3).fill(90), width: size, height: size };
  const map = Float32Array.from({ length: size * size }, (_, i) => i);
  const fig = await heatmapGridFigure(
    [
      { label: "r0", image, mask: null, maps: [map] },
      { label: "r1", image, mask: null, maps: [map] },
    ],
    { mapLabels: ["SimCLIP"], hoverResolution: 4 },
  );
  assert.equal(fig.data.filter((t) => t.type === "image").length, 6);
  const hover = fig.data.filter((t) => t.type === "heatmap");
  assert.equal(hover.length, 2);
  // 8x8 map block-averaged 2x2 to 4x4: top-left block is mean(0, 1, 8, 9) = 4.5.
  const z = at(hover, 0).z as number[][];
  assert.deepEqual(at(at(z, 0), 0), 4.5);
  assert.equal(z.length, 4);
  assert.match(String(at(fig.data, 0).source), /^data:image\/png;base64,/);

  const roc = rocCurve([1, 0, 1, 0], [0.9, 0.8, 0.8, 0.1]);
  assert.deepEqual(at(rocFigure([{ name: "a", roc }]).data, 0).x, [0, 0, 0.5, 1]);
  const sc = scatterFigure([
    { x: 0, y: 0, group: "bottle", kind: "normal" },
    { x: 1, y: 0, group: "bottle", kind: "anomalous" },
    { x: 2, y: 0, group: "bottle", kind: "normal" },
  ]);
  assert.deepEqual(
    sc.data.map((t) => [t.name, t.x]),
    [
      ["bottle (normal)", [0, 2]],
      ["bottle (anomalous)", [1]],
    ],
  );
});

test("inside a (fake) kernel: plotly.js is sent with the first figure only; progress updates one display", () => {
  const kernel = fakeKernel();
  try {
    assert.equal(inTslab(), true);
    showPlotly({ data: [] });
    showPlotly({ data: [] });
    assert.ok(at(kernel.outputs, 0).html.includes("window.Plotly = Plotly"));
    assert.ok(!at(kernel.outputs, 1).html.includes("window.Plotly = Plotly"));

    installNotebookProgress();
    const p = startProgress("extract", 4);
    p.update(4, { loss: 0.123456 });
    p.stop();
    const bars = kernel.outputs.filter((o) => o.id > 0);
    assert.ok(bars.length >= 2);
    assert.equal(new Set(bars.map((b) => b.id)).size, 1, "all redraws go to the same display entry");
    assert.match(at(bars, bars.length - 1).html, /<progress max="4" value="4"[^>]*>.*extract: 4\/4.*loss=0\.1235/);

    const before = kernel.outputs.length;
    const empty = startProgress("metrics", 0);
    empty.update(0);
    empty.stop();
    assert.equal(kernel.outputs.length, before, "a job with nothing to do draws no bar");
  } finally {
    setProgressFactory(undefined);
    kernel.remove();
  }
});

test("progress in a cell: one line per job running at once; finished jobs' lines are reused, never across cells", () => {
  const kernel = fakeKernel();
  const cellWrite = process.stdout.write;
  const lineOf = (label: string) => kernel.outputs.filter((o) => o.html.includes(`${label}:`)).map((o) => o.id);
  try {
    installNotebookProgress();
    // Twelve evaluations one after the other, each with a nested metrics job: two lines in all.
    for (let i = 0; i < 12; i++) {
      const evaluation = startProgress(`eval ${i}`, 2);
      const metrics = startProgress(`metrics ${i}`, 1);
      metrics.update(1);
      metrics.stop();
      evaluation.update(2);
      evaluation.stop();
    }
    const ids = new Set(kernel.outputs.map((o) => o.id));
    assert.deepEqual([...ids].sort(), [1, 2]);
    assert.deepEqual(new Set(lineOf("eval 11")), new Set([1]));
    assert.deepEqual(new Set(lineOf("metrics 11")), new Set([2]));
    // The next cell (tslab gives each execution its own stdout writer) starts new lines.
    process.stdout.write = ((...args: Parameters<typeof cellWrite>) => cellWrite.apply(process.stdout, args)) as typeof cellWrite;
    const next = startProgress("train", 1);
    next.stop();
    assert.deepEqual(new Set(lineOf("train")), new Set([3]));
  } finally {
    process.stdout.write = cellWrite;
    setProgressFactory(undefined);
    kernel.remove();
  }
});

test("progressHtml escapes labels and shows the ETA while running", () => {
  const html = progressHtml("<train>", 1, 4, 2);
  assert.match(html, /&lt;train&gt;: 1\/4 \(0\.50\/s, 2\.0 s, ETA 6 s\)/);
});

test("figure titles use plotly's { text } form (plain strings are ignored by plotly.js 3+)", async () => {
  const roc = rocCurve([1, 0], [0.9, 0.1]);
  assert.deepEqual(rocFigure([{ name: "a", roc }], "My ROC").layout?.title, { text: "My ROC" });
  assert.deepEqual(scatterFigure([], "t").layout?.title, { text: "t" });
  const image = { data: new Uint8Array(12), width: 2, height: 2 };
  assert.deepEqual((await heatmapGridFigure([{ image, mask: null, maps: [] }], { title: "grid" })).layout?.title, { text: "grid" });
});

test("heatmap grids leave room for their row labels and for a title with its setup line", async () => {
  const image = { data: new Uint8Array(12), width: 2, height: 2 };
  const layout = async (label: string, title?: string) =>
    (await heatmapGridFigure([{ label, image, mask: null, maps: [] }], { title })).layout as { margin: { l: number; t: number }; height: number };
  assert.deepEqual([(await layout("wood")).margin.l, (await layout("wood")).margin.t, (await layout("wood")).height], [90, 60, 220]);
  const long = await layout("VisA macaroni2 / chip around edge", "t");
  assert.deepEqual([long.margin.l, long.margin.t, long.height], [16 + 7 * 33, 100, 260]);
});
