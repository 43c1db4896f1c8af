import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { cacheRoot } from "../../src/cache/location.js";
import { FileFormatError, InvalidArgumentError, MissingFileError } from "../../src/errors.js";
import { describeExperimentConfig, isRealSetup, loadExperimentConfig, setupLabel } from "../../src/experiments/config.js";

const scratchRoot = mkdtempSync(path.join(tmpdir(), "simclip-config-"));
after(() => rmSync(scratchRoot, { recursive: true, force: true }));

function scratch(): string {
  const root = mkdtempSync(path.join(scratchRoot, "case-"));
  for (const d of ["model", "mvtec", "visa", "notebooks"]) mkdirSync(path.join(root, d));
  return root;
}

test("nothing given: demo backbone, synthetic datasets, labelled as synthetic", () => {
  const root = scratch();
  const c = loadExperimentConfig({ env: {}, cwd: root });
  assert.deepEqual(c, {
    backbone: { kind: "demo" },
    mvtec: { kind: "synthetic" },
    visa: { kind: "synthetic" },
    quick: false,
    configFile: null,
    cacheDir: path.join(root, "data"),
  });
  assert.equal(isRealSetup(c), false);
  assert.match(describeExperimentConfig(c), /Synthetic setup.*not the paper's numbers/);
});

test("environment variables give the real setup; the banner drops the synthetic warning", () => {
  const root = scratch();
  const env = { SIMCLIP_MODEL: path.join(root, "model"), MVTEC_ROOT: path.join(root, "mvtec"), VISA_ROOT: path.join(root, "visa"), SIMCLIP_QUICK: "1" };
  const c = loadExperimentConfig({ env, cwd: root });
  assert.deepEqual(c.backbone, { kind: "dir", path: env.SIMCLIP_MODEL });
  assert.deepEqual(c.visa, { kind: "dir", root: env.VISA_ROOT });
  assert.equal(c.quick, true);
  assert.equal(isRealSetup(c), true);
  assert.doesNotMatch(describeExperimentConfig(c), /Synthetic setup/);
});

test("config file in the parent of the working directory (notebooks/ -> project root); env wins", () => {
  const root = scratch();
  writeFileSync(path.join(root, "simclip.config.json"), JSON.stringify({ model: "model", mvtecRoot: "mvtec", quick: true }));
  const cwd = path.join(root, "notebooks");
  writeFileSync(path.join(root, "package.json"), "{}");
  const c = loadExperimentConfig({ env: {}, cwd });
  assert.equal(c.cacheDir, path.join(root, "data"), "cache in the project root, not in notebooks/");
  assert.equal(loadExperimentConfig({ env: { SIMCLIP_CACHE_DIR: "cache" }, cwd }).cacheDir, path.join(cwd, "cache"));
  assert.equal(c.configFile, path.join(root, "simclip.config.json"));
  assert.deepEqual(c.backbone, { kind: "dir", path: path.join(root, "model") }, "relative paths resolve against the file's directory");
  assert.deepEqual(c.mvtec, { kind: "dir", root: path.join(root, "mvtec") });
  assert.deepEqual(c.visa, { kind: "synthetic" });
  assert.equal(c.quick, true);
  const overridden = loadExperimentConfig({ env: { VISA_ROOT: path.join(root, "visa"), SIMCLIP_QUICK: "0" }, cwd });
  assert.deepEqual(overridden.visa, { kind: "dir", root: path.join(root, "visa") });
  assert.equal(overridden.quick, false);
});

test("wrong settings are errors that name the setting, never a silent fallback", () => {
  const root = scratch();
  assert.throws(
    () => loadExperimentConfig({ env: { MVTEC_ROOT: path.join(root, "nope") }, cwd: root }),
    (e: unknown) => e instanceof MissingFileError && /MVTEC_ROOT/.test(e.message),
  );
  assert.throws(() => loadExperimentConfig({ env: { SIMCLIP_QUICK: "yes" }, cwd: root }), InvalidArgumentError);
  assert.throws(() => loadExperimentConfig({ env: { SIMCLIP_CONFIG: "missing.json" }, cwd: root }), MissingFileError);
  writeFileSync(path.join(root, "simclip.config.json"), JSON.stringify({ modle: "model" }));
  assert.throws(
    () => loadExperimentConfig({ env: {}, cwd: root }),
    (e: unknown) => e instanceof FileFormatError && /unknown key "modle"/.test(e.message),
  );
  writeFileSync(path.join(root, "simclip.config.json"), "{ not json");
  assert.throws(() => loadExperimentConfig({ env: {}, cwd: root }), FileFormatError);
});

test("setupLabel marks anything but the real setup as synthetic", () => {
  const root = scratch();
  assert.equal(
    setupLabel(loadExperimentConfig({ env: { SIMCLIP_QUICK: "1" }, cwd: root })),
    "synthetic benchmark, demo backbone (random, not pretrained), quick mode — SYNTHETIC SETUP, not comparable to the paper",
  );
  const real = loadExperimentConfig({
    env: { SIMCLIP_MODEL: path.join(root, "model"), MVTEC_ROOT: path.join(root, "mvtec"), VISA_ROOT: path.join(root, "visa") },
    cwd: root,
  });
  assert.equal(setupLabel(real), "MVTec-AD + VisA, model");
});

test("one cache location for every entry point: SIMCLIP_CACHE_DIR, else the project's data/ or the user's cache", () => {
  const root = scratch();
  writeFileSync(path.join(root, "package.json"), "{}");
  const cwd = path.join(root, "notebooks");
  assert.equal(cacheRoot("project", { env: {}, cwd }), path.join(root, "data"));
  assert.equal(cacheRoot("user", { env: {}, cwd }), path.join(homedir(), ".cache", "simclip"));
  for (const scope of ["project", "user"] as const) assert.equal(cacheRoot(scope, { env: { SIMCLIP_CACHE_DIR: "c" }, cwd }), path.join(cwd, "c"));
  assert.equal(loadExperimentConfig({ env: {}, cwd }).cacheDir, cacheRoot("project", { env: {}, cwd }));
});
