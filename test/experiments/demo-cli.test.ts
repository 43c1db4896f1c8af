/**
 * `simclip demo --quick` end to end through the CLI on a fresh cache: the labelled table is printed,
 * the figures are valid images of the layout's size, and a second run resumes from the caches.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { HEATMAP_LABEL_WIDTH, HEATMAP_TITLE_HEIGHT } from "../../src/viz/heatmap-grid.js";

const run = promisify(execFile);

test("simclip demo --quick: table with the synthetic banner, figures written, rerun resumes", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "simclip-demo-"));
  try {
    const args = ["--import", "tsx", "src/cli/main.ts", "demo", "--quick", "--data", path.join(dir, "data"), "--out", path.join(dir, "figures")];
    const env = { ...process.env, SIMCLIP_QUICK: "", SIMCLIP_CACHE_DIR: "" };
    const first = await run(process.execPath, args, { env, maxBuffer: 1 << 24 });
    assert.match(first.stdout, /SYNTHETIC DATA \+ RANDOM \(untrained\) DEMO BACKBONE/);
    assert.match(first.stdout, /NOT the paper's numbers/);
    const row = (name: string, setup: string) => {
      const line = first.stdout.split("\n").find((l) => l.startsWith(setup) && l.includes(` ${name} `));
      assert.ok(line, `row ${setup} ${name} printed`);
      const nums = line.trim().split(/\s+/).slice(2).map(Number);
      assert.equal(nums.length, 4);
      for (const v of nums) assert.ok(v >= 0 && v <= 100, `${line}: values are percentages`);
    };
    row("SimCLIP", "0-shot");
    row("SimCLIP+", "1-shot");
    assert.match(first.stderr, /train simclip on mvtec/);

    const files = (await readdir(path.join(dir, "figures"))).sort();
    assert.deepEqual(files, ["demo-heatmaps.png", "demo-loss.png", "demo-loss.svg"]);
    // Quick demo: two VisA-layout classes, one row each; 64 px cells, 4 px gaps, image / truth / 2 maps.
    const heat = await sharp(path.join(dir, "figures", "demo-heatmaps.png")).metadata();
    assert.equal(heat.format, "png");
    assert.equal(heat.width, HEATMAP_LABEL_WIDTH + 4 * 64 + 3 * 4);
    assert.equal(heat.height, HEATMAP_TITLE_HEIGHT + 2 * 64 + 4);
    const lossMeta = await sharp(path.join(dir, "figures", "demo-loss.png")).metadata();
    assert.deepEqual([lossMeta.format, lossMeta.width, lossMeta.height], ["png", 640, 360]);
    const loss = await sharp(path.join(dir, "figures", "demo-loss.png")).stats();
    assert.ok(
      loss.channels.some((c) => c.min < c.max),
      "the loss chart is not blank",
    );

    const second = await run(process.execPath, args, { env, maxBuffer: 1 << 24 });
    assert.doesNotMatch(second.stderr, /train simclip on mvtec/, "the trained checkpoint is reused");
    assert.doesNotMatch(second.stderr, /synth mvtec/, "the synthetic benchmark is reused");
    const table = (s: string) => s.slice(s.indexOf("setup"), s.indexOf("figures:"));
    assert.equal(table(second.stdout), table(first.stdout));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
