/// <reference lib="dom" />
/**
 * `simclip serve` with no model: it builds what `npm start` builds (here the quick, tiny
 * configuration in a scratch cache), offers the synthetic benchmark's images as samples, and says on
 * the page that the backbone is random. The page part needs Chromium: skipped where it is missing,
 * unless SIMCLIP_REQUIRE_NOTEBOOKS=1 (CI) makes that a failure.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";
import { MAIN } from "./fixture.js";

const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";
let tmp: string;
let child: ChildProcess;
let url: string;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "simclip-serve-demo-"));
  child = spawn(process.execPath, ["--import", "tsx", MAIN, "serve", "--quick", "--data", path.join(tmp, "data"), "--port", "0"], {
    env: { ...process.env, SIMCLIP_QUIET: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d));
  url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on("exit", (code) => reject(new Error(`simclip serve exited (${code}) before listening:\n${stderr}`)));
  });
});

after(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.on("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  await rm(tmp, { recursive: true, force: true });
});

interface Info {
  randomBackbone: boolean;
  checkpoint: string | null;
  layers: number[];
  samples: { id: string; name: string; category: string; role: "query" | "reference" }[];
}

test("with no model it serves the demo backbone, a trained SimCLIP and samples of the synthetic benchmark", { timeout: 180_000 }, async () => {
  const info = (await (await fetch(new URL("/api/info", url))).json()) as Info;
  assert.equal(info.randomBackbone, true);
  assert.match(info.checkpoint!, /checkpoints[/\\]simclip-mvtec-/);
  assert.ok(existsSync(path.join(info.checkpoint!, "history.json")), "a finished training run, as npm start leaves it");
  const category = info.samples[0]!.category;
  const of = info.samples.filter((s) => s.category === category);
  assert.ok(of.some((s) => s.role === "query") && of.some((s) => s.role === "reference"), JSON.stringify(of));

  // The samples go through the same upload checks as a user's files.
  const ids = { query: [] as string[], reference: [] as string[] };
  for (const s of of) {
    const bytes = await (await fetch(new URL(`/api/samples/${s.id}`, url))).arrayBuffer();
    const up = await fetch(new URL("/api/uploads", url), { method: "POST", body: bytes, headers: { "x-file-name": s.name } });
    assert.equal(up.status, 201);
    ids[s.role].push(((await up.json()) as { id: string }).id);
  }
  const job = (await (
    await fetch(new URL("/api/jobs", url), {
      method: "POST",
      body: JSON.stringify({ method: "simclip+", category, layers: info.layers, queries: ids.query, references: ids.reference }),
    })
  ).json()) as { id: string };
  const deadline = Date.now() + 60_000;
  let state: { state: string; error?: string; result?: { images: { score: number }[] } };
  do {
    await new Promise((r) => setTimeout(r, 200));
    state = (await (await fetch(new URL(`/api/jobs/${job.id}`, url))).json()) as typeof state;
  } while ((state.state === "queued" || state.state === "running") && Date.now() < deadline);
  assert.equal(state.state, "done", state.error);
  assert.equal(state.result!.images.length, ids.query.length);
  for (const im of state.result!.images) assert.ok(im.score >= 0 && im.score <= 1);
});

test("the page says the backbone is random and runs the samples", { timeout: 120_000 }, async (t) => {
  if (!existsSync(chromium)) {
    const why = `chromium is not installed at ${chromium} (Debian: apt-get install chromium; or set CHROMIUM)`;
    assert.notEqual(process.env.SIMCLIP_REQUIRE_NOTEBOOKS, "1", `SIMCLIP_REQUIRE_NOTEBOOKS=1 but ${why}`);
    t.skip(why);
    return;
  }
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir: await mkdtemp(path.join(tmp, "chromium-profile-")),
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
    const warning = await page.$eval("#random-warning", (e) => ({
      shown: !(e as HTMLElement).hidden && (e as HTMLElement).offsetHeight > 0,
      text: e.textContent ?? "",
    }));
    assert.ok(warning.shown, "the random-backbone warning is visible");
    assert.match(warning.text, /random-weight demo CLIP/);
    await page.click("input[name=method][value='simclip+']");
    await page.click("#add-samples");
    // The button is disabled while the samples upload, one after another.
    await page.waitForFunction(() => !(document.getElementById("add-samples") as HTMLButtonElement).disabled, { timeout: 30_000 });
    assert.equal(await page.$$eval(".files li.failed", (l) => l.length), 0);
    assert.ok((await page.$$("#queries-list li[data-upload]")).length > 0 && (await page.$$("#references-list li[data-upload]")).length > 0);
    await page.click("#run");
    await page.waitForSelector(".run[data-state='done'], .run[data-state='failed']", { timeout: 60_000 });
    const error = await page.$eval(".run", (e) => e.querySelector(".error")?.textContent ?? null);
    assert.equal(error, null, `the page's run failed: ${error}`);
    assert.ok((await page.$$(".run .card .map-canvas")).length > 0);
  } finally {
    await browser.close();
  }
});
