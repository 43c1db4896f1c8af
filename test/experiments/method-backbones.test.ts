/**
 * The experiment runner gives each method the backbone and the features its authors' code uses:
 * AnomalyCLIP opens CLIP with QuickGELU at every size and trains on the DPAM features it is scored
 * on (its own cache entry), not on the plain tower's shared cache.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ExperimentContext, experimentSetupFrom } from "../../src/experiments/index.js";
import { FeatureCache, clipFeatureSource } from "../../src/cache/index.js";

test("AnomalyCLIP in the experiments: QuickGELU away from the native size, trained on its DPAM features", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "simclip-method-backbones-"));
  const base = experimentSetupFrom({
    backbone: { kind: "demo" },
    mvtec: { kind: "synthetic" },
    visa: { kind: "synthetic" },
    quick: true,
    configFile: null,
    cacheDir: dir,
  });
  // 80 px on the 64 px tiny demo backbone: the released SimCLIP rule gives exact GELU there.
  const ctx = await ExperimentContext.open({ ...base, size: 80 });
  try {
    assert.equal(ctx.model.config.activation, "gelu");
    assert.equal(ctx.backboneFor("simclip"), ctx.model);
    const backbone = ctx.backboneFor("anomalyclip");
    assert.equal(backbone.config.activation, "quick-gelu");
    assert.notEqual(backbone.fingerprint, ctx.model.fingerprint);

    const direction = { train: "mvtec", test: "visa" } as const;
    const trained = await ctx.trained("anomalyclip", direction);
    const source = trained.method.featureSource?.();
    assert.ok(source, "AnomalyCLIP reads a feature source of its own");
    assert.match(source.id, /vision=dpam-/);
    // The checkpoint cache is keyed by that source: training on other features is another run.
    const history = JSON.parse(await readFile(path.join(trained.checkpointDir, "history.json"), "utf8")) as { key: { features: string } };
    assert.equal(history.key.features, source.id);
    const dpam = await FeatureCache.open(path.join(dir, "features"), source);
    const plain = await FeatureCache.open(path.join(dir, "features"), clipFeatureSource(ctx.model, { size: ctx.size, layers: trained.method.layers }));
    const images = (await ctx.dataset("mvtec")).samples.filter((s) => s.split === "test").map((s) => s.imagePath);
    for (const p of images) {
      assert.ok(await dpam.has(p), `${path.basename(p)}: trained on its DPAM features`);
      assert.ok(!(await plain.has(p)), `${path.basename(p)}: the plain tower's features were not used`);
    }
    trained.method.dispose?.();
  } finally {
    await ctx.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});
