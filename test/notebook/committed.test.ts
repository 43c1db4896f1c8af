/**
 * The notebooks as committed: executed in full on the default configuration (`npm run
 * notebooks:outputs`), so that a reader on GitHub sees every table and figure, each labelled with
 * the synthetic setup it comes from. Needs no Jupyter: it reads the stored outputs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const dir = path.resolve(import.meta.dirname, "../../notebooks");

interface Output {
  output_type: string;
  name?: string;
  text?: string[] | string;
  data?: Record<string, string[] | string>;
}
interface Cell {
  cell_type: string;
  outputs?: Output[];
}

const join = (v: string[] | string | undefined) => (Array.isArray(v) ? v.join("") : (v ?? ""));

function notebook(name: string): Cell[] {
  return (JSON.parse(readFileSync(path.join(dir, name), "utf8")) as { cells: Cell[] }).cells;
}

const names = readdirSync(dir)
  .filter((f) => f.endsWith(".ipynb"))
  .sort();

test("every committed notebook was executed in full, without errors, on the default configuration", () => {
  assert.equal(names.length, 9);
  for (const name of names) {
    const code = notebook(name).filter((c) => c.cell_type === "code");
    // tslab reports no execution counts, so a cell's outputs are the evidence it ran (every cell here shows something).
    code.forEach((c, i) => {
      assert.ok((c.outputs ?? []).length > 0, `${name}: code cell ${i} was executed`);
    });
    const outputs = code.flatMap((c) => c.outputs ?? []);
    for (const o of outputs) {
      assert.ok(o.output_type !== "error" && !(o.output_type === "stream" && o.name === "stderr"), `${name}: ${o.output_type} ${join(o.text)}`);
    }
    const text = outputs.map((o) => join(o.data?.["text/markdown"]) + join(o.data?.["text/html"]) + join(o.text)).join("\n");
    assert.match(text, /\*\*demo backbone\*\*.*\*\*synthetic benchmark\*\*/s, `${name}: the configuration banner names the default setup`);
    assert.doesNotMatch(text, /quick mode/, `${name}: a full run, not CI's quick one`);
    assert.doesNotMatch(text, /window\.Plotly/, `${name}: figures are stored as pictures (GitHub runs no scripts)`);
  }
});

test("committed tables and figures carry the setup they were computed on", () => {
  for (const name of names.filter((n) => n.startsWith("table"))) {
    const html = notebook(name)
      .flatMap((c) => c.outputs ?? [])
      .map((o) => join(o.data?.["text/html"]));
    const tables = html.filter((h) => h.includes("· ours"));
    assert.equal(tables.length, 1, `${name}: one paper-vs-ours table`);
    assert.match(
      tables[0]!,
      /computed by simclip on synthetic benchmark, demo backbone \(random, not pretrained\) — SYNTHETIC SETUP, not comparable to the paper/,
    );
  }
  // Quick start: layer maps, ROC, PR, loss, maps before / after; Figures 2 and 4; Figure 5 (a) and (b).
  const pictures = { "00-quick-start.ipynb": 5, "figures-2-4-qualitative.ipynb": 2, "figure5-tsne.ipynb": 2 } as const;
  for (const [name, n] of Object.entries(pictures)) {
    const figures = notebook(name)
      .flatMap((c) => c.outputs ?? [])
      .filter((o) => o.data?.["image/png"] !== undefined);
    assert.equal(figures.length, n, `${name}: figures`);
    for (const f of figures)
      assert.match(join(f.data!["text/plain"]), /SYNTHETIC SETUP, not comparable to the paper$/, `${name}: figure title names the setup`);
  }
});
