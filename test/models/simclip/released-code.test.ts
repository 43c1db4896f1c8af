/**
 * SimCLIP and SimCLIP+ against the authors' released code itself: `test/fixtures/released-simclip`
 * holds their checkpoint format (clip.pth + visionAdapter.pth on the tiny CLIP at the non-native size
 * 80) and what their test_zero_shot.py, test_few_shot.py and train.py computed from it on CPU
 * (make_fixtures.py there; its README lists the few patches needed to run them on CPU).
 *
 * Their loader rounds every linear weight of the backbone to float16, so the backbone used here is
 * the one inside clip.pth (written as an OpenAI-layout model directory), as theirs was.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ClipModel } from "../../../src/clip/model.js";
import { loadMask } from "../../../src/clip/preprocess.js";
import { readSafetensors } from "../../../src/clip/safetensors.js";
import { readTorchCheckpoint, torchStateDict } from "../../../src/clip/torch-checkpoint.js";
import { loadClipDir, type WeightTensor } from "../../../src/clip/weights.js";
import { loadDataset } from "../../../src/data/load.js";
import { CheckpointMismatchError, loadCheckpoint } from "../../../src/models/common/checkpoint.js";
import { predictImages } from "../../../src/models/common/predict.js";
import { createMethod } from "../../../src/models/registry.js";
import { clipFeatureSource } from "../../../src/cache/index.js";
import { variableKey } from "../../../src/models/common/init.js";
import { SimClip } from "../../../src/models/simclip/model.js";
import { readReleasedSimClip, releasedSimClipCheckpoint, releasedTrainableTensors } from "../../../src/models/simclip/released-checkpoint.js";
import { openBackboneAndCheckpoint } from "../../../src/cli/open-checkpoint.js";
import { readNpy } from "../../../src/viz/npy.js";
import { pixelAuroc } from "../../../src/metrics/index.js";
import { tfReady } from "../../../src/tf.js";
import { TINY, assertParametersAfterStep, byClass, float32TrainItems, writeBackboneDir } from "../released-code.js";
import { maxAbsDiff } from "../../clip-model/reference.js";

const FIX = path.join(import.meta.dirname, "../../fixtures/released-simclip");
const CKPT = path.join(FIX, "checkpoint");
const DATA = path.join(FIX, "data", "mvtec");
const LAYERS = [1, 2, 3, 4];
const run = promisify(execFile);
const MAIN = path.join(import.meta.dirname, "../../../src/cli/main.ts");

interface ReleasedImage {
  img_path: string;
  mask_path: string;
  cls_name: string;
  anomaly: 0 | 1;
  pr_sp: number;
  map: string;
  map_before?: string;
  final_score?: number;
}
interface ReleasedRun {
  image_size: number;
  images: ReleasedImage[];
  k_shot_txt?: string[];
}

let tmp: string;
/** A model directory holding the backbone exactly as the released loader ran it. */
let backboneDir: string;

const readJson = async <T>(name: string) => JSON.parse(await readFile(path.join(FIX, name), "utf8")) as T;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "simclip-released-"));
  backboneDir = path.join(tmp, "backbone");
  const tiny = await loadClipDir(TINY, { format: "openai" });
  const released = torchStateDict(await readTorchCheckpoint(path.join(CKPT, "clip.pth")), "clip.pth", "clip");
  // Frozen tensors as the released code held them; the native positional embedding and the two
  // projections (trained in clip.pth) stay the tiny model's own.
  const keep = new Set(["visual.positional_embedding", "visual.proj", "text_projection"]);
  const weights = new Map<string, WeightTensor>([...tiny.weights].map(([k, w]) => [k, keep.has(k) ? w : released.get(k)!]));
  await writeBackboneDir(backboneDir, weights);
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test("the released checkpoint loads: size from its positional embedding, exact GELU by the released rule, frozen tensors checked", async () => {
  const { model, checkpoint, checkpointKind } = await openBackboneAndCheckpoint({ model: backboneDir, checkpoint: CKPT, layers: LAYERS });
  try {
    assert.equal(checkpointKind, "released");
    assert.equal(model.config.activation, "gelu");
    const m = await SimClip.fromState(model, checkpoint!.state, CKPT);
    assert.equal(m.size, 80);
    assert.deepEqual(m.layers, LAYERS);
    m.dispose();
  } finally {
    await model.dispose();
  }
  // Within the released loader's float16 rounding, the original float32 tiny CLIP is the same backbone.
  const files = await readReleasedSimClip(CKPT);
  const original = await ClipModel.load(TINY, { format: "openai", size: 80 });
  try {
    assert.doesNotThrow(() => releasedSimClipCheckpoint(files, original, LAYERS));
    assert.throws(
      () => releasedSimClipCheckpoint(files, original, [1, 2]),
      (e: unknown) => e instanceof CheckpointMismatchError && /4 adapters/.test(e.message),
    );
    // Another backbone is refused, naming the tensor that differs.
    const other = new Map(original.weights);
    const w = other.get("visual.transformer.resblocks.2.mlp.c_fc.weight")!;
    other.set("visual.transformer.resblocks.2.mlp.c_fc.weight", { data: w.data.map((v) => v * 1.01), shape: w.shape });
    assert.throws(
      () => releasedSimClipCheckpoint(files, { config: original.config, weights: other, fingerprint: "x", tokenizer: original.tokenizer }, LAYERS),
      (e: unknown) => e instanceof CheckpointMismatchError && /resblocks\.2\.mlp\.c_fc\.weight.*differs/.test(e.message),
    );
  } finally {
    await original.dispose();
  }
});

test("the backbone with exact GELU is the released CLIP at 80 px: patch tokens and prompt features, both executors; the activation keys the cache", async () => {
  const ref = JSON.parse(await readFile(path.join(FIX, "zero-shot-80.json"), "utf8")) as ReleasedRun & {
    text_features: Record<string, { class: { normal: number[]; abnormal: number[] } }>;
    prompts: Record<string, { normal: string[]; abnormal: string[] }>;
  };
  await tfReady();
  const model = await ClipModel.load(backboneDir, { size: 80 });
  const quick = model.withActivation("quick-gelu");
  try {
    assert.equal(model.config.activation, "gelu");
    assert.equal(model.releasedActivationAt(64), "quick-gelu");
    assert.match(model.fingerprint, /\+gelu$/);
    assert.equal(quick.fingerprint, model.fingerprint.replace(/\+gelu$/, ""));
    const ids = [model, quick].map((m) => clipFeatureSource(m, { size: 80, layers: LAYERS }).id);
    assert.notEqual(ids[0], ids[1]);

    const out = await model.encodeImageFiles([path.join(DATA, ref.images[0]!.img_path)], { size: 80, layers: LAYERS, transform: "square" });
    const tokens = await readNpy(path.join(FIX, "zero-shot-80", "debug-patch-tokens.npy"));
    const per = 101 * 128;
    for (const l of LAYERS) {
      const err = maxAbsDiff(out.hiddenStates.get(l)!, tokens.data.subarray((l - 1) * per, l * per));
      assert.ok(err <= 1e-4, `layer ${l}: max abs error ${err}`);
    }
    // Prompt features: the released `encode_text_with_IPT` class features (EOT @ its trained text
    // projection, normalised) from our onnxruntime text tower; the tfjs executor's tower agrees with it.
    const { checkpoint } = await openBackboneAndCheckpoint({ model: backboneDir, checkpoint: CKPT, layers: LAYERS });
    const simclip = await SimClip.fromState(model, checkpoint!.state, CKPT);
    for (const [cls, prompts] of Object.entries(ref.prompts)) {
      await simclip.prepare([cls]);
      const plain = simclip.promptEmbeddings([cls]).plain.dataSync() as Float32Array;
      const want = Float32Array.from([...ref.text_features[cls]!.class.normal, ...ref.text_features[cls]!.class.abnormal]);
      assert.ok(maxAbsDiff(plain, want) <= 1e-5, `${cls}: prompt features`);
      const texts = [prompts.normal[0]!, prompts.abnormal[0]!];
      const ort = await model.encodeText(texts);
      const { embeds, eotIndex } = model.tokenEmbeddingsTf(texts);
      const tfjs = model.textForwardTf(embeds, eotIndex).lastHiddenState.dataSync() as Float32Array;
      assert.ok(maxAbsDiff(tfjs, ort.lastHiddenState) <= 1e-5, `${cls}: tfjs text tower vs onnxruntime`);
    }
    simclip.dispose();
  } finally {
    await model.dispose();
    await quick.dispose();
  }
});

test("zero-shot at 80 px (exact GELU): simclip predict gives the released maps and image scores", async () => {
  const ref = await readJson<ReleasedRun>("zero-shot-80.json");
  const { model, checkpoint } = await openBackboneAndCheckpoint({ model: backboneDir, checkpoint: CKPT, layers: LAYERS });
  try {
    const method = await createMethod("simclip", { backbone: model, checkpoint });
    for (const im of ref.images) {
      const [p] = await predictImages(method, model, [path.join(DATA, im.img_path)], im.cls_name);
      const want = await readNpy(path.join(FIX, im.map));
      const err = maxAbsDiff(p!.map, want.data);
      assert.ok(err <= 1e-4, `${im.img_path}: map max abs error ${err}`);
      assert.ok(Math.abs(p!.score - im.pr_sp) <= 1e-5, `${im.img_path}: score ${p!.score} vs ${im.pr_sp}`);
    }
    method.dispose?.();
  } finally {
    await model.dispose();
  }
});

test("the command line: simclip predict --checkpoint <released dir> writes the released map as .npy", async () => {
  const ref = await readJson<ReleasedRun>("zero-shot-80.json");
  const im = ref.images.find((i) => i.anomaly === 1)!;
  const out = path.join(tmp, "pred");
  await run(
    process.execPath,
    [
      "--import",
      "tsx",
      MAIN,
      "predict",
      "--model",
      backboneDir,
      "--checkpoint",
      CKPT,
      "--layers",
      "1,2,3,4",
      "--category",
      im.cls_name,
      "--out",
      out,
      path.join(DATA, im.img_path),
    ],
    {
      env: { ...process.env, SIMCLIP_QUIET: "1" },
    },
  );
  const stem = path.basename(im.img_path, ".png");
  const npy = await readNpy(path.join(out, `${stem}_map.npy`));
  assert.deepEqual(npy.shape, [80, 80]);
  assert.ok(maxAbsDiff(npy.data, (await readNpy(path.join(FIX, im.map))).data) <= 1e-4);
  const json = JSON.parse(await readFile(path.join(out, `${stem}.json`), "utf8")) as { score: number; map_npy: string };
  assert.ok(Math.abs(json.score - im.pr_sp) <= 1e-5);
  assert.equal(json.map_npy, `${stem}_map.npy`);
});

test("the command line: simclip eval --checkpoint <released dir> scores what the released maps score", async () => {
  const ref = await readJson<ReleasedRun>("zero-shot-80.json");
  const out = path.join(tmp, "eval.json");
  await run(
    process.execPath,
    [
      "--import",
      "tsx",
      MAIN,
      "eval",
      "--model",
      backboneDir,
      "--checkpoint",
      CKPT,
      "--layers",
      "1,2,3,4",
      "--dataset",
      `mvtec:${DATA}`,
      "--cache",
      path.join(tmp, "eval-cache"),
      "--out",
      out,
    ],
    { env: { ...process.env, SIMCLIP_QUIET: "1" } },
  );
  const results = JSON.parse(await readFile(out, "utf8")) as { per_category: Record<string, { p_auroc: number }>; backbone: { activation: string } };
  assert.equal(results.backbone.activation, "gelu");
  for (const [cls, images] of byClass(ref.images)) {
    const maps = await Promise.all(images.map(async (im) => ({ data: (await readNpy(path.join(FIX, im.map))).data, height: 80, width: 80 })));
    const masks = await Promise.all(
      images.map(async (im) => ({ data: im.anomaly ? await loadMask(path.join(DATA, im.mask_path), 80) : new Uint8Array(6400), height: 80, width: 80 })),
    );
    // eval reads float16-cached features: its maps differ from the released ones in the 4th decimal at most.
    const want = pixelAuroc(masks, maps);
    assert.ok(
      Math.abs(results.per_category[cls]!.p_auroc - want) <= 2e-3,
      `${cls}: P-AUROC ${results.per_category[cls]!.p_auroc} vs ${want} from the released maps`,
    );
  }
});

test("convert-checkpoint writes our checkpoint from the released one: same maps, activation recorded; bad inputs are clear errors", async () => {
  const out = path.join(tmp, "converted");
  const cli = (args: string[]) => run(process.execPath, ["--import", "tsx", MAIN, ...args], { env: { ...process.env, SIMCLIP_QUIET: "1" } });
  await cli(["convert-checkpoint", "--from", CKPT, "--model", backboneDir, "--layers", "1,2,3,4", "--out", out]);
  const saved = await loadCheckpoint(out);
  assert.equal(saved.activation, "gelu");
  const ref = await readJson<ReleasedRun>("zero-shot-80.json");
  const im = ref.images[1]!;
  const { model, checkpoint, checkpointKind } = await openBackboneAndCheckpoint({ model: backboneDir, checkpoint: out });
  try {
    assert.equal(checkpointKind, "ours");
    assert.equal(model.config.activation, "gelu");
    const method = await createMethod("simclip", { backbone: model, checkpoint });
    const [p] = await predictImages(method, model, [path.join(DATA, im.img_path)], im.cls_name);
    assert.ok(maxAbsDiff(p!.map, (await readNpy(path.join(FIX, im.map))).data) <= 1e-4);
    method.dispose?.();
  } finally {
    await model.dispose();
  }
  await assert.rejects(cli(["convert-checkpoint", "--from", out, "--model", backboneDir, "--out", path.join(tmp, "again")]), /already a simclip checkpoint/);
  await assert.rejects(
    cli(["convert-checkpoint", "--from", DATA, "--model", backboneDir, "--out", path.join(tmp, "again")]),
    /not a checkpoint: expected config\.json .* or the authors' clip\.pth \+ visionAdapter\.pth/,
  );
  await assert.rejects(
    cli(["predict", "--model", backboneDir, "--checkpoint", out, "--activation", "quick-gelu", "--out", path.join(tmp, "x"), path.join(DATA, im.img_path)]),
    /trained with gelu/,
  );
});

test("zero-shot at the native 64 px (QuickGELU, as the released factory loads it there)", async () => {
  const ref = await readJson<ReleasedRun>("zero-shot-64.json");
  const files = await readReleasedSimClip(CKPT);
  const tiny = await loadClipDir(TINY, { format: "openai" });
  // The same trained parts with the native positional embedding: the released 64 px run's checkpoint.
  const native = { ...files, clip: new Map(files.clip).set("visual.positional_embedding", tiny.weights.get("visual.positional_embedding")!), size: 64 };
  const model = await ClipModel.load(backboneDir, { size: 64 });
  try {
    assert.equal(model.config.activation, "quick-gelu");
    const method = await createMethod("simclip", { backbone: model, checkpoint: releasedSimClipCheckpoint(native, model, LAYERS) });
    for (const im of ref.images) {
      const [p] = await predictImages(method, model, [path.join(DATA, im.img_path)], im.cls_name);
      const err = maxAbsDiff(p!.map, (await readNpy(path.join(FIX, im.map))).data);
      assert.ok(err <= 1e-4, `${im.img_path}: map max abs error ${err}`);
      assert.ok(Math.abs(p!.score - im.pr_sp) <= 1e-5);
    }
    method.dispose?.();
  } finally {
    await model.dispose();
  }
});

test("few-shot (SimCLIP+, k = 2, the released references): maps and image scores of test_few_shot.py", async () => {
  const ref = await readJson<ReleasedRun>("few-shot-80.json");
  const { model, checkpoint } = await openBackboneAndCheckpoint({ model: backboneDir, checkpoint: CKPT, layers: LAYERS });
  try {
    const method = await createMethod("simclip+", { backbone: model, checkpoint });
    for (const [cls, images] of byClass(ref.images)) {
      const references = ref.k_shot_txt!.filter((p) => p.startsWith(`${cls}/`)).map((p) => path.join(DATA, p));
      assert.equal(references.length, 2);
      const preds = await predictImages(
        method,
        model,
        images.map((im) => path.join(DATA, im.img_path)),
        cls,
        { references },
      );
      for (const [i, im] of images.entries()) {
        const err = maxAbsDiff(preds[i]!.map, (await readNpy(path.join(FIX, im.map))).data);
        assert.ok(err <= 1e-4, `${im.img_path}: map max abs error ${err}`);
        assert.ok(Math.abs(preds[i]!.score - im.final_score!) <= 1e-4, `${im.img_path}: score ${preds[i]!.score} vs ${im.final_score}`);
      }
    }
    method.dispose?.();
  } finally {
    await model.dispose();
  }
});

interface TrainStepReference {
  batch_size: number;
  loss: number;
  cls_loss: number;
  focal: number[];
  dice: number[];
}

test("one training step from the released state equals train.py's loss, gradients and updated parameters", async () => {
  const ref = await readJson<TrainStepReference>("train-step.json");
  const step = await readSafetensors(path.join(FIX, "train-step.safetensors"));
  const part = (prefix: string, source: string) =>
    new Map([...step].filter(([k]) => k.startsWith(`${prefix}/${source}.`)).map(([k, v]) => [k.slice(prefix.length + source.length + 2), v]));
  const released = (prefix: string) => releasedTrainableTensors(part(prefix, "clip"), part(prefix, "adapter"), LAYERS, { clip: prefix, adapter: prefix });
  const wantGrad = released("grad");
  const wantAfter = released("after");

  const { model, checkpoint } = await openBackboneAndCheckpoint({ model: backboneDir, checkpoint: CKPT, layers: LAYERS });
  try {
    const method = await SimClip.fromState(model, checkpoint!.state, CKPT);
    const samples = (await loadDataset(`mvtec:${DATA}`)).samples.filter((s) => s.split === "test");
    assert.equal(samples.length, ref.batch_size);
    const { source, items } = await float32TrainItems(model, samples, method.size, LAYERS);
    await method.prepare(source.categories);

    const g = await method.lossAndGradients(items);
    assert.ok(Math.abs(g.loss - ref.loss) <= 1e-4, `loss ${g.loss} vs ${ref.loss}`);
    assert.ok(Math.abs(g.parts.ce! - ref.cls_loss) <= 1e-4, `ce ${g.parts.ce} vs ${ref.cls_loss}`);
    LAYERS.forEach((l, i) => {
      assert.ok(Math.abs(g.parts[`focal_${l}`]! - ref.focal[i]!) <= 1e-4, `focal ${l}`);
      assert.ok(Math.abs(g.parts[`dice_${l}`]! - ref.dice[i]!) <= 1e-4, `dice ${l}`);
    });
    for (const [v, grad] of g.grads) {
      const want = wantGrad.get(variableKey(v));
      assert.ok(want, `no released gradient for ${variableKey(v)}`);
      const err = maxAbsDiff(grad.dataSync() as Float32Array, want.data);
      assert.ok(err <= 1e-4, `gradient of ${variableKey(v)}: max abs error ${err}`);
      grad.dispose();
    }
    assert.equal(g.grads.size, wantGrad.size);

    // The same step through the training loop (Adam, betas (0.5, 0.999), lr 1e-3 in epoch 0 of the cosine).
    await method.fit(source, { epochs: 1, batchSize: ref.batch_size });
    assertParametersAfterStep(method.trainableVariables(), wantAfter, wantGrad);
    method.dispose();
  } finally {
    await model.dispose();
  }
});
