/**
 * Every baseline end to end on the synthetic benchmark with the tiny random demo backbone, through
 * the one library call (`runRegisteredMethod`) and the CLI (`simclip eval --method NAME`), in SimCLIP's table
 * format. The backbone is random, so only the format and the plumbing (training, checkpoints,
 * few-shot memories) are asserted, plus PatchCore's nearest-neighbour maps, which need no semantics.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tfReady } from "../../../src/tf.js";
import { ClipModel } from "../../../src/clip/model.js";
import { writeDemoModel } from "../../../src/clip/demo-model.js";
import { generateSynth } from "../../../src/data/synth/index.js";
import { runRegisteredMethod } from "../../../src/models/run.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

test("all baselines run end to end through runRegisteredMethod and `simclip eval --method`, in SimCLIP's result format", async () => {
  await tfReady();
  const dir = await mkdtemp(path.join(tmpdir(), "simclip-baselines-"));
  try {
    await writeDemoModel(path.join(dir, "tiny"), { arch: "tiny", seed: 0 });
    const spec = `mvtec:${path.join(dir, "A")}`;
    await generateSynth({
      out: path.join(dir, "A"),
      layout: "mvtec",
      seed: 0,
      size: 64,
      categories: ["screw", "pcb"],
      trainCount: 2,
      testGoodCount: 3,
      testAnomalousCount: 3,
    });
    const model = await ClipModel.load(path.join(dir, "tiny"));
    const cache = path.join(dir, "cache");
    const common = { model, dataset: spec, size: 64, layers: [1, 2, 3, 4], cacheDir: cache };
    try {
      const reference = (await runRegisteredMethod("simclip", common)).results!;
      const format = (r: typeof reference) => ({ perCategory: Object.keys(r.per_category).sort(), metrics: Object.keys(r.mean).sort() });
      // AnomalyCLIP's released DPAM_layer 20 and depth 9 need ViT-L's depth: scaled to the 4-block tiny CLIP.
      const tinyAnomalyClip = { options: { dpamLayer: 4, depth: 2 } };
      for (const name of ["clip-ac", "april-gan", "coop", "cocoop", "anomalyclip"]) {
        const { results, method } = await runRegisteredMethod(name, { ...common, ...(name === "anomalyclip" ? tinyAnomalyClip : {}) });
        assert.equal(results!.method, name);
        assert.deepEqual(format(results!), format(reference), name);
        for (const v of Object.values(results!.mean)) assert.ok(typeof v === "number" && v >= 0 && v <= 1, `${name}: ${JSON.stringify(results!.mean)}`);
        method.dispose?.();
      }
      for (const name of ["patchcore", "april-gan"]) {
        // PatchCore runs its own WideResNet-50-2 (random weights beside this random demo CLIP) on its layers 2+3,
        // keeping every patch: at 64 px two shots give 128 patches, of which anomalib's ratio 0.1 keeps 12.
        const own = name === "patchcore" ? { layers: undefined, options: { coresetRatio: 1 } } : {};
        const { results, method } = await runRegisteredMethod(name, { ...common, ...own, shots: 2, seeds: [0, 1] });
        assert.deepEqual(results!.seeds, [0, 1]);
        const pAuroc = results!.mean.p_auroc as { mean: number; std: number };
        process.stderr.write(`${name} 2-shot ${JSON.stringify(results!.mean)}\n`);
        // The synthetic defects change the patch tokens even of a random ViT, and a nearest-neighbour
        // memory of normal patches finds them: measured pixel AUROC 0.76 (PatchCore, random WideResNet) and 0.89 (APRIL-GAN).
        assert.ok(pAuroc.mean > 0.6, `${name} pixel AUROC ${pAuroc.mean}`);
        method.dispose?.();
      }

      // Trained: one epoch on the test split, checkpoint reloaded by the CLI gives the same table.
      const ckpt = path.join(dir, "ckpt");
      const trained = await runRegisteredMethod("anomalyclip", {
        ...common,
        ...tinyAnomalyClip,
        train: { dataset: spec, options: { epochs: 1, checkpointDir: ckpt } },
      });
      assert.equal(trained.history!.epochLoss.length, 1);
      const out = path.join(dir, "cli.json");
      await promisify(execFile)(
        process.execPath,
        [
          "--import",
          "tsx",
          "src/cli/main.ts",
          "eval",
          "--method",
          "anomalyclip",
          "--checkpoint",
          ckpt,
          "--model",
          path.join(dir, "tiny"),
          "--dataset",
          spec,
          "--out",
          out,
          "--cache",
          cache,
        ],
        { cwd: ROOT },
      );
      const cli = JSON.parse(await readFile(out, "utf8")) as typeof reference;
      assert.equal(cli.method, "anomalyclip");
      for (const [k, v] of Object.entries(trained.results!.mean))
        assert.ok(Math.abs((cli.mean[k] as number) - (v as number)) < 1e-6, `${k}: CLI ${cli.mean[k]} vs library ${v}`);
      trained.method.dispose?.();
    } finally {
      await model.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
