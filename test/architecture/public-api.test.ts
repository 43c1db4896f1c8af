/**
 * The package's public API is curated in src/index.ts; notebooks and docs import only from "simclip".
 * This test reads every `import { ... } from "simclip"` in the notebooks, the README and docs/, and
 * checks each name (values and types) is exported, so trimming the index cannot silently break a
 * notebook that tslab would only reject when it is run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

const root = path.resolve(import.meta.dirname, "../..");

function importedNames(): Map<string, string> {
  const sources: [string, string][] = [];
  for (const f of readdirSync(path.join(root, "notebooks")).filter((n) => n.endsWith(".ipynb"))) {
    const cells = (JSON.parse(readFileSync(path.join(root, "notebooks", f), "utf8")) as { cells: { cell_type: string; source: string[] | string }[] }).cells;
    for (const c of cells.filter((c) => c.cell_type === "code")) sources.push([`notebooks/${f}`, Array.isArray(c.source) ? c.source.join("") : c.source]);
  }
  for (const f of [
    "README.md",
    ...readdirSync(path.join(root, "docs"))
      .filter((n) => n.endsWith(".md"))
      .map((n) => `docs/${n}`),
  ]) {
    sources.push([f, readFileSync(path.join(root, f), "utf8")]);
  }
  const names = new Map<string, string>();
  for (const [file, text] of sources) {
    for (const m of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*"simclip"/g)) {
      for (const part of m[1]!.split(",")) {
        const name = part
          .trim()
          .replace(/^type\s+/, "")
          .split(/\s+as\s+/)[0]!
          .trim();
        if (/^[A-Za-z_$][\w$]*$/.test(name)) names.set(name, file);
      }
    }
  }
  return names;
}

function exportedNames(): Set<string> {
  const entry = path.join(root, "src/index.ts");
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!);
  return new Set(checker.getExportsOfModule(symbol!).map((s) => s.getName()));
}

test("every name the notebooks and docs import from simclip is exported by src/index.ts", () => {
  const imported = importedNames();
  assert.ok(imported.size > 40, `found ${imported.size} imported names`);
  const exported = exportedNames();
  const missing = [...imported].filter(([name]) => !exported.has(name)).map(([name, file]) => `${name} (${file})`);
  assert.deepEqual(missing, []);
});

test("the public API stays curated", () => {
  const exported = exportedNames();
  assert.ok(exported.size < 320, `src/index.ts exports ${exported.size} names`);
  for (const internal of ["gaussianMatrix", "heatmapRowCells", "currentCellToken", "PAPER_TABLE_1", "mergeResultRows"]) {
    assert.ok(!exported.has(internal), `${internal} is an internal`);
  }
});
