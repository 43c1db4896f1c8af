/**
 * The folder layout tells the architecture: dependencies between the folders of src/ (and between the
 * model folders under src/models/) point one way. Counts value, type and dynamic imports alike: a
 * type import is still a dependency of the design.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

const SRC = path.join(import.meta.dirname, "..", "..", "src");
const IMPORT = /(?:import|export)\s+(?:type\s+)?[^'";]*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/gs;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [p] : [];
  });
}

/** src/<dir>, and src/models/<dir> as nodes of their own; files directly in src/ are their own nodes. */
function folderOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep);
  if (parts.length === 1) return parts[0]!;
  if (parts[0] === "models" && parts.length > 2) return `models/${parts[1]}`;
  return parts[0]!;
}

function folderGraph(): Map<string, Set<string>> {
  const files = new Set(sourceFiles(SRC));
  const edges = new Map<string, Set<string>>();
  for (const file of files) {
    for (const m of readFileSync(file, "utf8").matchAll(IMPORT)) {
      let target = path.resolve(path.dirname(file), (m[1] ?? m[2])!.replace(/\.js$/, ".ts"));
      if (!files.has(target)) target = path.join(target.replace(/\.ts$/, ""), "index.ts");
      if (!files.has(target)) continue;
      const [from, to] = [folderOf(file), folderOf(target)];
      if (from !== to) edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
  }
  return edges;
}

/** Strongly connected components of more than one folder (Tarjan). */
function cycles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

test("no import cycles between the folders of src/ (and between model folders)", () => {
  const edges = folderGraph();
  assert.ok(edges.size > 10, `expected a graph of the source folders, found ${edges.size} folders with imports`);
  assert.deepEqual(cycles(edges), []);
});

test("the layers point one way: viz imports nothing above it; experiments no notebook or cli; models no experiments", () => {
  const edges = folderGraph();
  const uses = (from: string) => [...(edges.get(from) ?? [])];
  assert.deepEqual(
    uses("viz").filter((f) => ["experiments", "notebook", "cli", "serve"].includes(f) || f.startsWith("models")),
    [],
  );
  assert.deepEqual(
    uses("experiments").filter((f) => ["notebook", "cli", "serve"].includes(f)),
    [],
  );
  for (const from of [...edges.keys()].filter((f) => f === "models" || f.startsWith("models/"))) {
    assert.deepEqual(
      uses(from).filter((f) => ["experiments", "notebook", "cli", "serve"].includes(f)),
      [],
      `${from} imports above the models layer`,
    );
  }
});

test("the cycle finder finds a cycle (a graph with one is not reported clean)", () => {
  const g = new Map([
    ["a", new Set(["b"])],
    ["b", new Set(["c"])],
    ["c", new Set(["a"])],
    ["d", new Set(["a"])],
  ]);
  assert.deepEqual(cycles(g), [["a", "b", "c"]]);
});
