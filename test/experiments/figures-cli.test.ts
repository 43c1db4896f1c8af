import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";

const root = path.resolve(import.meta.dirname, "../..");

test("simclip figures writes every figure as a valid image of the expected size (quick, synthetic)", async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "simclip-figures-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const out = path.join(tmp, "figures");
  // An empty config file, so that a developer's own simclip.config.json cannot change the setup.
  writeFileSync(path.join(tmp, "empty.json"), "{}");
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "figures", "--out", out], {
    cwd: root,
    env: {
      ...process.env,
      SIMCLIP_QUICK: "1",
      SIMCLIP_CACHE_DIR: path.join(tmp, "cache"),
      SIMCLIP_MODEL: "",
      MVTEC_ROOT: "",
      VISA_ROOT: "",
      SIMCLIP_CONFIG: path.join(tmp, "empty.json"),
    },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /Synthetic setup/);
  assert.match(r.stdout, /layer-distances: .*layer-distances\.png \(synthetic setup\)/);
  assert.deepEqual(readdirSync(out).sort(), [
    "figure2-maps.png",
    "figure4-maps.png",
    "figure5a-prompt-tsne.png",
    "figure5a-prompt-tsne.svg",
    "figure5b-prompt-tsne.png",
    "figure5b-prompt-tsne.svg",
    "layer-distances.png",
  ]);
  // Quick mode: the tiny demo backbone (64 px, 4 blocks -> 4 map columns) on two synthetic categories
  // (one row each): 160 px labels + 6 cells of 64 px + 5 gaps of 4 px; 24 px titles + 2 rows + 1 gap.
  const meta = await sharp(path.join(out, "layer-distances.png")).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ["png", 160 + 6 * 64 + 5 * 4, 24 + 2 * 64 + 4]);
  const tsne = await sharp(path.join(out, "figure5a-prompt-tsne.png")).metadata();
  assert.deepEqual([tsne.format, tsne.width, tsne.height], ["png", 640, 480]);
  const svg = await sharp(path.join(out, "figure5a-prompt-tsne.svg")).metadata();
  assert.deepEqual([svg.format, svg.width, svg.height], ["svg", 640, 480]);

  const bad = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "figures", "--out", out, "--only", "nope"], { cwd: root, encoding: "utf8" });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown figure "nope"; known: layer-distances, figure5a-prompt-tsne, figure2-maps, figure4-maps, figure5b-prompt-tsne/);
});
