/** Where experiments cache their work and which protocol each configuration gets. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadExperimentSetup, isSyntheticExperiment, experimentLabel } from "../../src/experiments/setup.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { simclipTrainingProtocol, trainingProtocolFor } from "../../src/models/common/train-options.js";
import { SimClip } from "../../src/models/simclip/model.js";
import { fakeBackbone } from "../models/common/fake-backbone.js";

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

test("the experiment runner trains each method with its own recipe; a setup overrides only the fields it names", async () => {
  const simclip = { trainingProtocol: (layout: string) => simclipTrainingProtocol(layout) };
  // The released train.py: batch 16, Adam 1e-3 (0.5, 0.999), cosine, seed 111, 5 epochs; mosaic 0.2 on MVTec only.
  assert.deepEqual(trainingProtocolFor(simclip, "mvtec"), {
    epochs: 5,
    batchSize: 16,
    lr: 1e-3,
    betas: [0.5, 0.999],
    schedule: "cosine",
    seed: 111,
    mosaicRate: 0.2,
  });
  assert.equal(trainingProtocolFor(simclip, "visa").mosaicRate, 0);
  const own = {
    trainingProtocol: () => ({
      epochs: 15,
      batchSize: 8,
      lr: 1e-3,
      betas: [0.5, 0.999] as [number, number],
      schedule: "constant" as const,
      seed: 111,
      mosaicRate: 0,
    }),
  };
  assert.deepEqual(trainingProtocolFor(own, "mvtec", {}), own.trainingProtocol());
  assert.deepEqual(trainingProtocolFor(own, "mvtec", { epochs: 1, batchSize: 4, mosaicRate: 0 }), { ...own.trainingProtocol(), epochs: 1, batchSize: 4 });
  // A method that declares none trains with the shared loop's defaults (SimCLIP's).
  assert.deepEqual(trainingProtocolFor({}, "visa"), simclipTrainingProtocol("visa"));
  const m = await SimClip.create(fakeBackbone(), { layers: [1], size: 16 });
  assert.deepEqual(m.trainingProtocol("mvtec"), simclipTrainingProtocol("mvtec"));
  m.dispose();
});
