import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, open, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { FileFormatError, MissingFileError, ShapeError } from "../../src/errors.js";
import { FeatureCache, featureSourceId, type ImageFeatures } from "../../src/cache/index.js";
import { fakeFeatures, fakeSource } from "./fake-source.js";

process.env.SIMCLIP_QUIET = "1";
const CHILD = path.join(import.meta.dirname, "fill-child.ts");

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "simclip-cache-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** n small "image" files with distinct contents (the cache hashes bytes; it never decodes them). */
async function images(dir: string, n: number, salt = ""): Promise<string[]> {
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = path.join(dir, `img${salt}${i}.png`);
    await writeFile(p, `image ${salt}${i} ${"x".repeat(i * 3)}`);
    paths.push(p);
  }
  return paths;
}

async function expected(p: string, layers = [2, 5]): Promise<ImageFeatures> {
  return fakeFeatures(await readFile(p), layers);
}

async function files(dir: string, pattern: RegExp): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).filter((f) => pattern.test(f)).map((f) => path.join(dir, f));
}

function capturingWarnings(): { codes: string[]; stop(): void } {
  const codes: string[] = [];
  const onWarning = (w: Error & { code?: string }) => codes.push(w.code ?? "");
  process.on("warning", onWarning);
  return { codes, stop: () => process.off("warning", onWarning) };
}

const tick = () => new Promise((r) => setImmediate(r));

function runChild(args: string[]): ReturnType<typeof spawn> {
  return spawn(process.execPath, ["--import", "tsx", CHILD, ...args], { stdio: ["ignore", "ignore", "pipe"] });
}

function exited(child: ReturnType<typeof spawn>): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stderr })));
}

test("ensure + get: features round-trip through fp16 entries; cached images are not extracted again; identical files share an entry", () =>
  withTmp(async (dir) => {
    const paths = await images(dir, 5);
    const copy = path.join(dir, "copy.png");
    await writeFile(copy, await readFile(paths[0]!));
    const calls: string[] = [];
    const cache = await FeatureCache.open(path.join(dir, "cache"), fakeSource({ calls }));
    await cache.ensure([...paths, copy]);
    assert.equal(calls.length, 5, "the copy has the same content hash: extracted once");
    for (const p of paths) assert.deepEqual(await cache.get(p), await expected(p));
    assert.deepEqual(await cache.get(copy), await expected(paths[0]!));
    const again = await FeatureCache.open(path.join(dir, "cache"), fakeSource({ calls }));
    await again.ensure(paths);
    assert.equal(calls.length, 5);
    assert.equal(await again.has(paths[3]!), true);
    // One layer read on its own (streaming: the other layer's section is not decoded).
    const only5 = await again.get(paths[1]!, { layers: [5] });
    assert.deepEqual([...only5.patchTokens.keys()], [5]);
    assert.deepEqual(only5.patchTokens.get(5), (await expected(paths[1]!)).patchTokens.get(5));
    await assert.rejects(again.get(paths[1]!, { layers: [7] }), ShapeError);
    await assert.rejects(again.get(path.join(dir, "absent.png")), MissingFileError);
    // An edited image is a new key.
    await writeFile(paths[2]!, "edited content");
    assert.equal(await again.has(paths[2]!), false);
    assert.deepEqual(await again.get(paths[2]!), await expected(paths[2]!));
    assert.equal(calls.length, 6);
  }));

test("values are stored as float16: arbitrary floats come back rounded to the nearest half", () =>
  withTmp(async (dir) => {
    const [p] = await images(dir, 1);
    const tokens = Float32Array.from({ length: 16 * 8 }, (_, i) => Math.sin(i) * 3.3);
    const cache = await FeatureCache.open(dir, {
      id: "sin",
      layers: [1],
      extract: async () => [{ patchTokens: new Map([[1, tokens]]), pooled: new Float32Array(8).fill(0.1), grid: 4, width: 8 }],
    });
    const f = await cache.get(p!);
    for (let i = 0; i < tokens.length; i++) assert.ok(Math.abs(f.patchTokens.get(1)![i]! - tokens[i]!) <= Math.abs(tokens[i]!) * 2 ** -11, `index ${i}`);
    assert.equal(f.pooled[0], 0.0999755859375);
  }));

test("key: a different model, preprocessing, size or layer set never reuses entries", () =>
  withTmp(async (dir) => {
    const paths = await images(dir, 2);
    const base = { fingerprint: "abc123", preprocessing: "clip-square", size: 518, layers: [6, 12, 18, 24] };
    const ids = [
      featureSourceId(base),
      featureSourceId({ ...base, fingerprint: "abc124" }),
      featureSourceId({ ...base, preprocessing: "clip-clip" }),
      featureSourceId({ ...base, size: 336 }),
      featureSourceId({ ...base, layers: [6, 12, 18] }),
    ];
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(featureSourceId({ ...base, layers: [24, 6, 18, 12, 12] }), ids[0], "layer order and duplicates do not matter");
    const calls: string[] = [];
    for (const id of ids) {
      const cache = await FeatureCache.open(path.join(dir, "cache"), fakeSource({ id, calls }));
      await cache.ensure(paths);
    }
    assert.equal(calls.length, 2 * ids.length, "every source extracted its own features");
    assert.equal((await files(path.join(dir, "cache"), /source\.json$/)).length, ids.length);
  }));

test("corrupt or truncated entries are detected on read, recomputed with a SIMCLIP_CACHE_CORRUPT warning", () =>
  withTmp(async (dir) => {
    const paths = await images(dir, 3);
    const calls: string[] = [];
    const cache = await FeatureCache.open(path.join(dir, "cache"), fakeSource({ calls }));
    await cache.ensure(paths);
    const entries = (await files(path.join(dir, "cache"), /\.f16$/)).sort();
    assert.equal(entries.length, 3);
    // 1: one flipped byte near the end (inside the pooled section).
    const fh = await open(entries[0]!, "r+");
    const { size } = await fh.stat();
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, size - 3);
    b[0]! ^= 0x40;
    await fh.write(b, 0, 1, size - 3);
    await fh.close();
    // 2: truncated. 3: garbage.
    await truncate(entries[1]!, 100);
    await writeFile(entries[2]!, "garbage");
    const warnings = capturingWarnings();
    try {
      for (const p of paths) assert.deepEqual(await cache.get(p), await expected(p));
      await tick();
      assert.deepEqual(warnings.codes, ["SIMCLIP_CACHE_CORRUPT", "SIMCLIP_CACHE_CORRUPT", "SIMCLIP_CACHE_CORRUPT"]);
      assert.equal(calls.length, 6);
      // Repaired: read again without warnings or extraction.
      for (const p of paths) await cache.get(p);
      await tick();
      assert.equal(warnings.codes.length, 3);
      assert.equal(calls.length, 6);
    } finally {
      warnings.stop();
    }
    // ensure() also notices a broken header and refills it.
    await truncate(entries[0]!, 5);
    await cache.ensure(paths);
    assert.equal(calls.length, 7);
  }));

test("open removes temp files of dead processes and keeps those of live ones", () =>
  withTmp(async (dir) => {
    const cache = await FeatureCache.open(dir, fakeSource());
    const dead = spawn(process.execPath, ["-e", ""]);
    const deadPid = dead.pid!;
    await new Promise((r) => dead.on("exit", r));
    await mkdir(path.join(cache.dir, "ab"), { recursive: true });
    const stale = path.join(cache.dir, "ab", `abcd.f16.tmp-${deadPid}-0badc0de`);
    const live = path.join(cache.dir, "ab", `abce.f16.tmp-${process.pid}-0badc0de`);
    await writeFile(stale, "partial");
    await writeFile(live, "being written");
    await FeatureCache.open(dir, fakeSource());
    assert.deepEqual(await files(cache.dir, /\.tmp-/), [live]);
  }));

test("a cache folder of another source is refused", () =>
  withTmp(async (dir) => {
    const cache = await FeatureCache.open(dir, fakeSource({ id: "one" }));
    await writeFile(path.join(cache.dir, "source.json"), JSON.stringify({ format: "simclip-feature-cache/1", id: "two" }));
    await assert.rejects(
      FeatureCache.open(dir, fakeSource({ id: "one" })),
      (e: unknown) => e instanceof FileFormatError && /belongs to source "two"/.test(e.message),
    );
  }));

test("kill and resume: a child killed mid-run leaves only whole entries; the next run extracts only the rest", () =>
  withTmp(async (dir) => {
    const paths = await images(dir, 16);
    const cacheDir = path.join(dir, "cache");
    const child = runChild([cacheDir, "150", "1", ...paths]);
    const done = exited(child);
    for (;;) {
      await new Promise((r) => setTimeout(r, 20));
      if ((await files(cacheDir, /\.f16$/).catch(() => [])).length >= 4) break;
    }
    child.kill("SIGKILL");
    const { signal } = await done;
    assert.equal(signal, "SIGKILL");
    const present = (await files(cacheDir, /\.f16$/)).length;
    assert.ok(present >= 4 && present < 16, `${present} entries written before the kill`);

    const calls: string[] = [];
    const warnings = capturingWarnings();
    try {
      const cache = await FeatureCache.open(cacheDir, fakeSource({ calls }));
      assert.equal((await files(cacheDir, /\.tmp-/)).length, 0, "temp files of the dead process are removed");
      await cache.ensure(paths);
      assert.equal(calls.length, 16 - present, "only the missing entries are extracted");
      for (const p of paths) assert.deepEqual(await cache.get(p), await expected(p));
      await tick();
      assert.deepEqual(warnings.codes, []);
    } finally {
      warnings.stop();
    }
  }));

test("two processes filling the same cache at once leave every entry whole and correct", () =>
  withTmp(async (dir) => {
    const paths = await images(dir, 12);
    const cacheDir = path.join(dir, "cache");
    const results = await Promise.all([exited(runChild([cacheDir, "5", "2", ...paths])), exited(runChild([cacheDir, "5", "3", ...paths]))]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assert.equal((await files(cacheDir, /\.f16$/)).length, 12);
    assert.equal((await files(cacheDir, /\.tmp-/)).length, 0);
    const calls: string[] = [];
    const warnings = capturingWarnings();
    try {
      const cache = await FeatureCache.open(cacheDir, fakeSource({ calls }));
      for (const p of paths) assert.deepEqual(await cache.get(p), await expected(p));
      await tick();
      assert.deepEqual(warnings.codes, []);
      assert.equal(calls.length, 0);
    } finally {
      warnings.stop();
    }
  }));

test("a source returning the wrong shapes is an error naming the layer", () =>
  withTmp(async (dir) => {
    const [p] = await images(dir, 1);
    const cache = await FeatureCache.open(dir, {
      id: "bad",
      layers: [3],
      extract: async () => [{ patchTokens: new Map([[3, new Float32Array(10)]]), pooled: new Float32Array(8), grid: 4, width: 8 }],
    });
    await assert.rejects(cache.get(p!), (e: unknown) => e instanceof ShapeError && /layer 3 has 10 values, expected 128/.test(e.message));
  }));
