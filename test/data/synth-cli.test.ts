import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { loadVisa } from "../../src/data/index.js";

const run = promisify(execFile);
const MAIN = path.join(import.meta.dirname, "../../src/cli/main.ts");
const cli = (args: string[]) => run(process.execPath, ["--import", "tsx", MAIN, ...args], { env: { ...process.env, SIMCLIP_QUIET: "1" } });

test("simclip synth writes a tree the VisA loader reads; bad options exit 2 with a message", async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "simclip-synth-cli-"));
  try {
    const out = path.join(tmp, "visa");
    const { stdout } = await cli([
      "synth",
      "--out",
      out,
      "--layout",
      "visa",
      "--seed",
      "2",
      "--size",
      "64",
      "--train",
      "1",
      "--test-good",
      "1",
      "--test-anomalous",
      "2",
      "--categories",
      "nut",
      "grid",
    ]);
    assert.match(stdout, /wrote 8 images \(grid, nut\)/);
    const ds = await loadVisa(out);
    assert.deepEqual(ds.categories, ["grid", "nut"]);
    assert.deepEqual(
      ds.samples.map((s) => `${s.category}/${s.split}/${s.label}`),
      ["grid/train/0", "grid/test/1", "grid/test/1", "grid/test/0", "nut/train/0", "nut/test/1", "nut/test/1", "nut/test/0"],
    );
    const commas = path.join(tmp, "commas");
    const { stdout: commaOut } = await cli([
      "synth",
      "--out",
      commas,
      "--layout",
      "mvtec",
      "--size",
      "64",
      "--train",
      "1",
      "--test-good",
      "1",
      "--test-anomalous",
      "1",
      "--categories",
      "wood,screw",
    ]);
    assert.match(commaOut, /wrote 6 images \(screw, wood\)/, "the comma-separated form other commands use works too");
    await assert.rejects(cli(["synth", "--out", out, "--layout", "visa", "--categories", "bogus"]), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr, /InvalidArgumentError: unknown synthetic category "bogus"; available: weave, wood, grid, tiles, screw, pcb, capsule, nut/);
      return true;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
