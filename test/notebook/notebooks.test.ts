/**
 * CI's notebook checks: every notebook executes headless with Debian's jupyter
 * and the tslab kernel in quick mode without error output, and a real browser renders a plotly
 * figure of an exported notebook. Skipped, with the reason, where jupyter or chromium is missing,
 * unless SIMCLIP_REQUIRE_NOTEBOOKS=1 (CI), which turns a missing tool into a failure.
 */
import { after, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { at } from "../at.js";

const root = path.resolve(import.meta.dirname, "../..");
const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";
const scratch = mkdtempSync(path.join(tmpdir(), "simclip-notebooks-"));
const out = path.join(scratch, "out");
after(() => rmSync(scratch, { recursive: true, force: true }));

function missingTool(): string | null {
  if (spawnSync("sh", ["-c", "command -v jupyter"]).status !== 0)
    return "jupyter is not installed (Debian: apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient)";
  if (!existsSync(chromium)) return `chromium is not installed at ${chromium} (Debian: apt-get install chromium; or set CHROMIUM)`;
  return null;
}

/** Skips (or, in CI, fails) when the tools are missing; true when the test may run. */
function toolsOrSkip(t: TestContext): boolean {
  const why = missingTool();
  if (why === null) return true;
  assert.notEqual(process.env.SIMCLIP_REQUIRE_NOTEBOOKS, "1", `SIMCLIP_REQUIRE_NOTEBOOKS=1 but ${why}`);
  t.skip(why);
  return false;
}

function runner(args: string[], env: Record<string, string>) {
  return spawnSync("sh", [path.join(root, "scripts/run-notebooks.sh"), ...args], {
    cwd: root,
    env: { ...process.env, SIMCLIP_QUICK: "1", ...env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The committed notebooks, byte for byte, by name. */
function committedNotebooks(): Map<string, Buffer> {
  const dir = path.join(root, "notebooks");
  return new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith(".ipynb"))
      .map((f) => [f, readFileSync(path.join(dir, f))]),
  );
}

test("every notebook runs headless in quick mode with no error output, leaving the committed notebooks as they are", (t) => {
  if (!toolsOrSkip(t)) return;
  const committed = committedNotebooks();
  const r = runner([], { NOTEBOOK_OUT: out });
  assert.equal(r.status, 0, `run-notebooks.sh failed:\n${r.stdout}\n${r.stderr.slice(-6000)}`);
  assert.deepEqual(committedNotebooks(), committed, "executing the notebooks rewrote a committed one");
  const notebooks = readdirSync(path.join(root, "notebooks")).filter((f) => f.endsWith(".ipynb"));
  assert.ok(notebooks.length >= 9, `expected the quick start and 8 paper-artefact notebooks, found ${notebooks.join(", ")}`);
  for (const nb of notebooks) {
    const name = nb.replace(/\.ipynb$/, "");
    assert.ok(existsSync(path.join(out, `${name}.ipynb`)) && existsSync(path.join(out, `${name}.html`)), `${name}: executed notebook and HTML export`);
  }
});

/** The HTML and text outputs of an executed notebook, one entry per output. */
function outputsOf(name: string): { html: string[]; text: string } {
  const nb = JSON.parse(readFileSync(path.join(out, `${name}.ipynb`), "utf8")) as {
    cells: { outputs?: { output_type: string; text?: string[]; data?: Record<string, string[] | string> }[] }[];
  };
  const html: string[] = [];
  let text = "";
  for (const o of nb.cells.flatMap((c) => c.outputs ?? [])) {
    const h = o.data?.["text/html"];
    if (h !== undefined) html.push(Array.isArray(h) ? h.join("") : h);
    if (o.text) text += o.text.join("");
  }
  return { html, text };
}

/** Rows of the paper-vs-ours table whose "· ours" cells hold at least one computed number. */
function rowsWithOurNumbers(tableHtml: string): number {
  const cells = (row: string, tag: string) => [...row.matchAll(new RegExp(`<${tag}[^>]*>(.*?)</${tag}>`, "g"))].map((m) => at(m, 1));
  const headers = cells(tableHtml.slice(0, tableHtml.indexOf("</thead>")), "th");
  const ours = headers.flatMap((h, i) => (h.endsWith("· ours") ? [i] : []));
  assert.ok(ours.length > 0, `no "· ours" columns in ${headers.join(" | ")}`);
  const body = tableHtml.slice(tableHtml.indexOf("<tbody>"));
  return [...body.matchAll(/<tr>(.*?)<\/tr>/g)].filter((r) => ours.some((i) => /^\d+\.\d+( ± \d+\.\d+)?$/.test(cells(at(r, 1), "td")[i] ?? ""))).length;
}

const usesRealSetup =
  ["SIMCLIP_MODEL", "MVTEC_ROOT", "VISA_ROOT", "SIMCLIP_CONFIG"].some((v) => process.env[v]) || existsSync(path.join(root, "simclip.config.json"));

test("the paper-artefact notebooks compute ours beside the paper's numbers, labelled with the setup", (t) => {
  if (!toolsOrSkip(t)) return;
  // Rows the quick protocol (1-shot, both directions) fills: Table 1's four zero-shot methods and three
  // 1-shot ones; Table 2's three prompt learners and the backbone alone; Table 3's four switch
  // combinations; Table 4's three learners x two datasets; Table 5's four single layers and "all";
  // Table 6's three FD / PAO combinations.
  const expected: Record<string, number> = {
    "table1-zero-few-shot": 7,
    "table2-flops-params": 4,
    "table3-mhva-ipt-ablation": 4,
    "table4-ipt-vs-coop": 6,
    "table5-hierarchy-ablation": 5,
    "table6-fd-pao-ablation": 3,
  };
  for (const [name, rows] of Object.entries(expected)) {
    const tables = outputsOf(name).html.filter((h) => h.includes("· ours"));
    assert.equal(tables.length, 1, `${name}: one paper-vs-ours table`);
    const table = at(tables, 0);
    assert.equal(rowsWithOurNumbers(table), rows, `${name}: rows with computed values`);
    assert.match(table, /<i>ours<\/i>: computed by simclip on /);
    if (!usesRealSetup) assert.match(table, /SYNTHETIC SETUP, not comparable to the paper/, `${name}: synthetic numbers are labelled`);
  }
  const plots = (name: string) => outputsOf(name).html.filter((h) => h.includes("window.Plotly.newPlot("));
  assert.equal(plots("figures-2-4-qualitative").length, 2, "Figure 2 and Figure 4 grids");
  assert.equal(plots("figure5-tsne").length, 2, "Figure 5 panels (a) and (b)");
  const quick = outputsOf("00-quick-start").html.find((h) => h.includes("pixel AUROC"));
  assert.ok(quick?.includes("before training") && quick.includes("after training"), "quick start: maps before and after training, in numbers");
});

test("the runner fails a notebook that writes to stderr", (t) => {
  if (!toolsOrSkip(t)) return;
  const dir = path.join(scratch, "bad");
  mkdirSync(dir);
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
    cells: [{ cell_type: "code", id: "c1", metadata: {}, execution_count: null, outputs: [], source: 'console.error("something went wrong");' }],
  };
  writeFileSync(path.join(dir, "bad.ipynb"), JSON.stringify(nb));
  mkdirSync(path.join(dir, "out"));
  const r = runner([path.join(dir, "bad.ipynb")], { NOTEBOOK_OUT: path.join(dir, "out"), NOTEBOOK_BUILD: "0" });
  // xargs, which runs the notebooks, exits 123 when one of them failed.
  assert.equal(r.status, 123);
  assert.match(r.stderr, /FAILED \(error output\)/);
  assert.match(r.stderr, /something went wrong/);
});

/** Pixels with vivid colour (max - min channel > 80): plot traces and jet maps, not text or page chrome. */
async function vividPixels(png: string): Promise<number> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let i = 0; i < info.width * info.height; i++) {
    const r = data[i * 3]!,
      g = data[i * 3 + 1]!,
      b = data[i * 3 + 2]!;
    if (Math.max(r, g, b) - Math.min(r, g, b) > 80) n++;
  }
  return n;
}

function screenshot(html: string, png: string): void {
  const profile = mkdtempSync(path.join(scratch, "chromium-profile-"));
  const r = spawnSync(
    chromium,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      "--hide-scrollbars",
      "--window-size=1280,3000",
      "--virtual-time-budget=20000",
      `--screenshot=${png}`,
      `file://${html}`,
    ],
    { encoding: "utf8", timeout: 120_000 },
  );
  assert.ok(existsSync(png), `chromium wrote no screenshot (status ${r.status}):\n${r.stderr.slice(-3000)}`);
}

test("headless chromium renders the plotly figures of the exported quick-start notebook", async (t) => {
  if (!toolsOrSkip(t)) return;
  const html = path.join(out, "00-quick-start.html");
  assert.ok(existsSync(html), "the quick-start HTML export (written by the first test)");
  // Control: the same page without the inlined plotly.js, so nothing can draw the figures; the rest
  // (code, tables, text) is identical.
  const page = readFileSync(html, "utf8");
  const libStart = page.indexOf("(function (module, exports, define) {");
  assert.ok(libStart > 0, "the exported page carries plotly.js inline (offline)");
  const tagStart = page.lastIndexOf("<script", libStart);
  const tagEnd = page.indexOf("</script>", libStart) + "</script>".length;
  const control = path.join(out, "00-quick-start-without-plotly.html");
  writeFileSync(control, page.slice(0, tagStart) + page.slice(tagEnd));
  const withPlotly = path.join(out, "with-plotly.png");
  const withoutPlotly = path.join(out, "without-plotly.png");
  screenshot(html, withPlotly);
  screenshot(control, withoutPlotly);
  const meta = await sharp(withPlotly).metadata();
  assert.deepEqual([meta.width, meta.height], [1280, 3000]);
  const on = await vividPixels(withPlotly);
  const off = await vividPixels(withoutPlotly);
  assert.ok(on > off + 30_000, `${on} coloured pixels with plotly.js vs ${off} without: the plotly figures did not render`);
});
