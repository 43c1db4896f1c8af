/** Where experiments cache their work and which protocol each configuration gets. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadExperimentSetup, isSyntheticExperiment, experimentLabel } from "../../src/experiments/setup.js";
import { InvalidArgumentError } from "../../src/errors.js";

test("loadExperimentSetup: data/ of the project unless SIMCLIP_CACHE_DIR; quick and synthetic defaults; overrides checked", () => {
  const root = mkdtempSync(path.join(tmpdir(), "simclip-setup-"));
  try {
    writeFileSync(path.join(root, "package.json"), "{}");
    mkdirSync(path.join(root, "notebooks"));
    const cwd = path.join(root, "notebooks");
    const synthetic = loadExperimentSetup({ env: {}, cwd });
    assert.equal(synthetic.dataDir, path.join(root, "data"));
    assert.equal(synthetic.config.cacheDir, synthetic.dataDir);
    assert.ok(isSyntheticExperiment(synthetic));
    assert.match(experimentLabel(synthetic), /SYNTHETIC SETUP/);
    // No training override: every method trains with its own released recipe.
    assert.deepEqual([synthetic.shots, synthetic.seeds, synthetic.training], [[1, 2, 4], [0, 1], {}]);

    const quick = loadExperimentSetup({ env: { SIMCLIP_CACHE_DIR: "/tmp/elsewhere" }, cwd, quick: true });
    assert.equal(quick.dataDir, "/tmp/elsewhere");
    assert.deepEqual([quick.config.quick, quick.shots, quick.seeds, quick.training], [true, [1], [0], { epochs: 1, batchSize: 4, mosaicRate: 0 }]);

    assert.throws(() => loadExperimentSetup({ env: {}, cwd, overrides: { shots: [0] } }), InvalidArgumentError);
    assert.throws(() => loadExperimentSetup({ env: {}, cwd, overrides: { seeds: [] } }), InvalidArgumentError);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
