/**
 * APRIL-GAN against the authors' released code itself: `test/fixtures/released-april-gan` holds their
 * checkpoint format ({'trainable_linearlayer': ...} on the tiny CLIP at the non-native size 80) and
 * what their test.py (zero- and few-shot) and one step of train.py computed from it on CPU
 * (make_fixtures.py there; its README lists the few patches needed to run them on CPU).
 *
 * Their factory rounds every Conv/Linear weight of the backbone (and both projections) to float16 on
 * the way in (`provenance.json → clip_weights_manifest`), so the backbone here is the tiny CLIP
 * rounded the same way, written as an OpenAI-layout model directory.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ClipModel } from "../../../src/clip/model.js";
import { float16ToFloat32, float32ToFloat16 } from "../../../src/clip/float16.js";
import { interpolatePosEmbed } from "../../../src/clip/pos-embed.js";
import { loadMask } from "../../../src/clip/preprocess.js";
import { readSafetensors } from "../../../src/clip/safetensors.js";
import { loadClipDir, type WeightTensor } from "../../../src/clip/weights.js";
import { loadDataset } from "../../../src/data/load.js";
import { FileFormatError, InvalidArgumentError, MissingFileError } from "../../../src/errors.js";
import { CheckpointMismatchError } from "../../../src/models/common/checkpoint.js";
import { predictImages } from "../../../src/models/common/predict.js";
import { variableKey } from "../../../src/models/common/init.js";
import { releasedLinearLayerTensors } from "../../../src/models/components/released-linear-layer.js";
import { createMethod } from "../../../src/models/registry.js";
import { AprilGan } from "../../../src/models/april-gan/model.js";
import { aprilGanPrompts } from "../../../src/models/april-gan/prompts.js";
import { clipFeatureSource } from "../../../src/cache/index.js";
import { openBackboneAndCheckpoint } from "../../../src/cli/open-checkpoint.js";
import { readNpy } from "../../../src/viz/npy.js";
import { pixelAuroc } from "../../../src/metrics/index.js";
import { tfReady } from "../../../src/tf.js";
import { TINY, assertParametersAfterStep, byClass, float32TrainItems, writeBackboneDir } from "../released-code.js";
import { maxAbsDiff } from "../../clip-model/reference.js";

const FIX = path.join(import.meta.dirname, "../../fixtures/released-april-gan");
const CKPT_DIR = path.join(FIX, "checkpoint");
const CKPT = path.join(CKPT_DIR, "linearlayer.pth");
const DATA = path.join(import.meta.dirname, "../../fixtures/released-simclip/data/mvtec");
const LAYERS = [1, 2, 3, 4];
const SIZE = 80;
const run = promisify(execFile);
const MAIN = path.join(import.meta.dirname, "../../../src/cli/main.ts");
const cli = (args: string[]) => run(process.execPath, ["--import", "tsx", MAIN, ...args], { env: { ...process.env, SIMCLIP_QUIET: "1" } });

interface ReleasedImage {
  img_path: string;
  mask_path: string;
  cls_name: string;
  anomaly: 0 | 1;
  pr_sp: number;
  map: string;
  map_few_shot_part?: string;
  final_score?: number;
}
interface ReleasedRun {
  image_size: number;
  dataset_root: string;
  images: ReleasedImage[];
  text_features: Record<string, { normal: number[]; abnormal: number[] }>;
  k_shot_txt?: string[];
}
interface PromptRecord {
  classes: Record<string, Record<"normal" | "abnormal", { count: number; strings: string[]; tokens: number[][] }>>;
}
interface TrainStepReference {
  batch_size: number;
  batch: { img_path: string }[];
  loss: number;
  focal: number[];
  dice: number[];
}

let tmp: string;
/** The tiny CLIP as the released factory held it. */
let backboneDir: string;

const readJson = async <T>(name: string) => JSON.parse(await readFile(path.join(FIX, name), "utf8")) as T;

const openReleased = (extra: { checkpoint?: string; size?: number } = {}) =>
  openBackboneAndCheckpoint({ method: "april-gan", model: backboneDir, checkpoint: CKPT, size: SIZE, layers: LAYERS, ...extra });

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "april-gan-released-"));
  backboneDir = path.join(tmp, "backbone");
  const provenance = await readJson<{ clip_weights_manifest: Record<string, { source: string }> }>("provenance.json");
  const tiny = await loadClipDir(TINY, { format: "openai" });
  const half = (w: WeightTensor): WeightTensor => ({ data: w.data.map((v) => float16ToFloat32(float32ToFloat16(v))), shape: w.shape });
  const weights = new Map<string, WeightTensor>();
  for (const [name, w] of tiny.weights) {
    const source = provenance.clip_weights_manifest[name]?.source;
    assert.ok(source, `${name} is not in the fixture's manifest`);
    // "resized" (the positional embedding at 80 px) is our loader's own resize of the native one, checked below.
    weights.set(name, source === "tiny-fp16" ? half(w) : w);
  }
  await writeBackboneDir(backboneDir, weights);
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test("APRIL-GAN's prompt ensemble is the released one: every string and token id, raw class names", async () => {
  const ref = await readJson<PromptRecord>("prompts.json");
  const model = await ClipModel.load(backboneDir);
  try {
    for (const [cls, rec] of Object.entries(ref.classes)) {
      const ours = aprilGanPrompts(cls);
      assert.deepEqual(ours.normal, rec.normal.strings, `${cls}: normal prompts`);
      assert.deepEqual(ours.anomalous, rec.abnormal.strings, `${cls}: abnormal prompts`);
      const strings = [...rec.normal.strings, ...rec.abnormal.strings];
      const tokens = [...rec.normal.tokens, ...rec.abnormal.tokens];
      strings.forEach((s, i) => {
        assert.deepEqual(model.tokenizer.encode(s), tokens[i]!.slice(1, -1), `tokens of "${s}"`);
      });
    }
  } finally {
    await model.dispose();
  }
});

test("the backbone at 80 px is the released one: exact GELU by the released rule, resized positional embedding, hooked tokens, prompt features", async () => {
  const ref = await readJson<ReleasedRun & { debug_first_image: { img_path: string } }>("zero-shot-80.json");
  await tfReady();
  const { model, checkpoint, checkpointKind } = await openReleased();
  try {
    assert.equal(checkpointKind, "released");
    assert.equal(model.config.activation, "gelu");
    const pos = interpolatePosEmbed(model.weights.get("visual.positional_embedding")!, SIZE / 8);
    const want = await readNpy(path.join(CKPT_DIR, "visual-positional-embedding-80.npy"));
    assert.deepEqual(pos.shape, want.shape);
    assert.ok(maxAbsDiff(pos.data, want.data) <= 1e-5, "positional embedding at 80 px");

    const first = ref.images[0]!;
    assert.equal(ref.debug_first_image.img_path, first.img_path);
    const out = await model.encodeImageFiles([path.join(DATA, first.img_path)], { size: SIZE, layers: LAYERS, transform: "square" });
    const input = await readNpy(path.join(FIX, "zero-shot-80", "debug-input.npy"));
    assert.deepEqual(input.shape, [3, SIZE, SIZE]);
    const inputErr = maxAbsDiff(out.pixelValues, input.data);
    assert.ok(inputErr <= 1e-4, `network input: max abs error ${inputErr}`);
    const tokens = await readNpy(path.join(FIX, "zero-shot-80", "debug-patch-tokens.npy"));
    const per = 101 * 128;
    for (const l of LAYERS) {
      const err = maxAbsDiff(out.hiddenStates.get(l)!, tokens.data.subarray((l - 1) * per, l * per));
      assert.ok(err <= 1e-4, `layer ${l}: max abs error ${err}`);
    }

    const m = await AprilGan.fromState(model, checkpoint!.state, CKPT);
    assert.equal(m.size, SIZE);
    assert.deepEqual(m.layers, LAYERS);
    for (const [cls, tf] of Object.entries(ref.text_features)) {
      await m.prepare([cls]);
      const err = maxAbsDiff(m.prompts.get(cls), Float32Array.from([...tf.normal, ...tf.abnormal]));
      assert.ok(err <= 1e-5, `${cls}: prompt features, max abs error ${err}`);
    }
    m.dispose();
  } finally {
    await model.dispose();
  }
});

test("zero-shot at 80 px with the released checkpoint: test.py's maps (summed, unsmoothed) and image scores", async () => {
  const ref = await readJson<ReleasedRun>("zero-shot-80.json");
  const { model, checkpoint } = await openReleased();
  try {
    const method = await createMethod("april-gan", { backbone: model, checkpoint });
    for (const [cls, images] of byClass(ref.images)) {
      const preds = await predictImages(
        method,
        model,
        images.map((im) => path.join(DATA, im.img_path)),
        cls,
      );
      for (const [i, im] of images.entries()) {
        const err = maxAbsDiff(preds[i]!.map, (await readNpy(path.join(FIX, im.map))).data);
        assert.ok(err <= 1e-4, `${im.img_path}: map max abs error ${err}`);
        assert.ok(Math.abs(preds[i]!.score - im.pr_sp) <= 1e-4, `${im.img_path}: score ${preds[i]!.score} vs ${im.pr_sp}`);
      }
    }
    method.dispose?.();
  } finally {
    await model.dispose();
  }
});

test("few-shot (k = 2, the released references): test.py's maps, few-shot summands (min 1 - cos, unhalved) and image scores", async () => {
  const ref = await readJson<ReleasedRun>("few-shot-80.json");
  const { model, checkpoint } = await openReleased();
  try {
    const method = await createMethod("april-gan", { backbone: model, checkpoint });
    const aprilGan = method as AprilGan;
    const source = clipFeatureSource(model, { size: SIZE, layers: LAYERS });
    for (const [cls, images] of byClass(ref.images)) {
      const references = ref.k_shot_txt!.filter((p) => p.startsWith(`${cls}/`)).map((p) => path.join(DATA, p));
      assert.equal(references.length, 2);
      const queries = images.map((im) => path.join(DATA, im.img_path));
      const preds = await predictImages(method, model, queries, cls, { references });
      const features = await source.extract(queries);
      for (const [i, im] of images.entries()) {
        const part = await aprilGan.fewShotMap(cls, features[i]!);
        const partErr = maxAbsDiff(part, (await readNpy(path.join(FIX, im.map_few_shot_part!))).data);
        assert.ok(partErr <= 1e-4, `${im.img_path}: few-shot part max abs error ${partErr}`);
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

test("one training step from the released checkpoint equals train.py's loss parts, gradients and updated parameters", async () => {
  const ref = await readJson<TrainStepReference>("train-step.json");
  const step = await readSafetensors(path.join(FIX, "train-step.safetensors"));
  const released = (prefix: string) =>
    releasedLinearLayerTensors(new Map([...step].filter(([k]) => k.startsWith(`${prefix}/`)).map(([k, v]) => [k.slice(prefix.length + 1), v])), LAYERS, prefix);
  const wantGrad = released("grad");
  const wantAfter = released("after");

  const { model, checkpoint } = await openReleased();
  try {
    const method = await AprilGan.fromState(model, checkpoint!.state, CKPT);
    const samples = (await loadDataset(`mvtec:${DATA}`)).samples.filter((s) => s.split === "test");
    assert.equal(samples.length, ref.batch_size);
    assert.deepEqual(new Set(samples.map((s) => path.relative(DATA, s.imagePath))), new Set(ref.batch.map((b) => b.img_path)));
    const { source, items } = await float32TrainItems(model, samples, method.size, LAYERS);
    await method.prepare(source.categories);

    const g = await method.lossAndGradients(items);
    assert.ok(Math.abs(g.loss - ref.loss) <= 1e-4, `loss ${g.loss} vs ${ref.loss}`);
    LAYERS.forEach((l, i) => {
      assert.ok(Math.abs(g.parts[`focal_${l}`]! - ref.focal[i]!) <= 1e-4, `focal ${l}: ${g.parts[`focal_${l}`]} vs ${ref.focal[i]}`);
      assert.ok(Math.abs(g.parts[`dice_${l}`]! - ref.dice[i]!) <= 1e-4, `dice ${l}: ${g.parts[`dice_${l}`]} vs ${ref.dice[i]}`);
    });
    assert.equal(g.grads.size, wantGrad.size);
    for (const [v, grad] of g.grads) {
      const want = wantGrad.get(variableKey(v));
      assert.ok(want, `no released gradient for ${variableKey(v)}`);
      const err = maxAbsDiff(grad.dataSync() as Float32Array, want.data);
      assert.ok(err <= 1e-4, `gradient of ${variableKey(v)}: max abs error ${err}`);
      grad.dispose();
    }

    // The same step through the training loop with the released recipe (Adam 1e-3, betas (0.5, 0.999), no schedule).
    await method.fit(source, { epochs: 1, batchSize: ref.batch_size });
    assertParametersAfterStep(method.trainableVariables(), wantAfter, wantGrad);
    method.dispose();
  } finally {
    await model.dispose();
  }
});

test("the command line: simclip predict --method april-gan --checkpoint <released .pth> writes the released zero-shot map and score", async () => {
  const ref = await readJson<ReleasedRun>("zero-shot-80.json");
  const im = ref.images.find((i) => i.anomaly === 1)!;
  const out = path.join(tmp, "pred-zero");
  await cli([
    "predict",
    "--method",
    "april-gan",
    "--model",
    backboneDir,
    "--checkpoint",
    CKPT,
    "--size",
    String(SIZE),
    "--layers",
    "1,2,3,4",
    "--category",
    im.cls_name,
    "--out",
    out,
    path.join(DATA, im.img_path),
  ]);
  const stem = path.basename(im.img_path, ".png");
  const npy = await readNpy(path.join(out, `${stem}_map.npy`));
  assert.deepEqual(npy.shape, [SIZE, SIZE]);
  const err = maxAbsDiff(npy.data, (await readNpy(path.join(FIX, im.map))).data);
  assert.ok(err <= 1e-4, `map max abs error ${err}`);
  const json = JSON.parse(await readFile(path.join(out, `${stem}.json`), "utf8")) as { score: number };
  assert.ok(Math.abs(json.score - im.pr_sp) <= 1e-4, `score ${json.score} vs ${im.pr_sp}`);
});

test("the command line: few-shot predict --method april-gan --checkpoint <dir holding the .pth> --references gives the released few-shot maps and scores", async () => {
  const ref = await readJson<ReleasedRun>("few-shot-80.json");
  const cls = "wood_grain";
  const images = byClass(ref.images).get(cls)!;
  const references = ref.k_shot_txt!.filter((p) => p.startsWith(`${cls}/`)).map((p) => path.join(DATA, p));
  const out = path.join(tmp, "pred-few");
  await cli([
    "predict",
    "--method",
    "april-gan",
    "--model",
    backboneDir,
    "--checkpoint",
    CKPT_DIR,
    "--size",
    String(SIZE),
    "--layers",
    "1,2,3,4",
    "--category",
    cls,
    "--out",
    out,
    ...images.map((im) => path.join(DATA, im.img_path)),
    "--references",
    ...references,
  ]);
  for (const im of images) {
    // Two images share each file name here, so predict names them <folder>_<stem>.
    const name = `${path.basename(path.dirname(im.img_path))}_${path.basename(im.img_path, ".png")}`;
    const err = maxAbsDiff((await readNpy(path.join(out, `${name}_map.npy`))).data, (await readNpy(path.join(FIX, im.map))).data);
    assert.ok(err <= 1e-4, `${im.img_path}: map max abs error ${err}`);
    const json = JSON.parse(await readFile(path.join(out, `${name}.json`), "utf8")) as { score: number; references: string[] };
    assert.ok(Math.abs(json.score - im.final_score!) <= 1e-4, `${im.img_path}: score ${json.score} vs ${im.final_score}`);
    assert.deepEqual(
      json.references,
      references.map((r) => path.resolve(r)),
    );
  }
});

test("the command line: simclip eval --method april-gan --checkpoint <released .pth> scores what the released maps score", async () => {
  const ref = await readJson<ReleasedRun>("zero-shot-80.json");
  const out = path.join(tmp, "eval.json");
  await cli([
    "eval",
    "--method",
    "april-gan",
    "--model",
    backboneDir,
    "--checkpoint",
    CKPT,
    "--size",
    String(SIZE),
    "--layers",
    "1,2,3,4",
    "--dataset",
    `mvtec:${DATA}`,
    "--cache",
    path.join(tmp, "eval-cache"),
    "--out",
    out,
  ]);
  const results = JSON.parse(await readFile(out, "utf8")) as {
    method: string;
    per_category: Record<string, { p_auroc: number }>;
    backbone: { activation: string };
  };
  assert.equal(results.backbone.activation, "gelu");
  for (const [cls, images] of byClass(ref.images)) {
    const maps = await Promise.all(images.map(async (im) => ({ data: (await readNpy(path.join(FIX, im.map))).data, height: SIZE, width: SIZE })));
    const masks = await Promise.all(
      images.map(async (im) => ({
        data: im.anomaly ? await loadMask(path.join(DATA, im.mask_path), SIZE) : new Uint8Array(SIZE * SIZE),
        height: SIZE,
        width: SIZE,
      })),
    );
    // eval reads float16-cached features: its maps differ from the released ones in the 4th decimal at most.
    const want = pixelAuroc(masks, maps);
    assert.ok(
      Math.abs(results.per_category[cls]!.p_auroc - want) <= 2e-3,
      `${cls}: P-AUROC ${results.per_category[cls]!.p_auroc} vs ${want} from the released maps`,
    );
  }
});

test("wrong released APRIL-GAN checkpoints are clear errors: several or no .pth, another format, other layers, another backbone", async () => {
  const simclipDir = path.join(import.meta.dirname, "../../fixtures/released-simclip/checkpoint");
  await assert.rejects(
    openReleased({ checkpoint: simclipDir }),
    (e: unknown) => e instanceof InvalidArgumentError && /holds 2 \.pth files \(clip\.pth, visionAdapter\.pth\): pass the one to load/.test(e.message),
  );
  await assert.rejects(
    openReleased({ checkpoint: DATA }),
    (e: unknown) =>
      e instanceof MissingFileError &&
      /not a checkpoint: expected config\.json .* or the APRIL-GAN authors' \{'trainable_linearlayer': \.\.\.\} \.pth file/.test(e.message),
  );
  await assert.rejects(
    openReleased({ checkpoint: path.join(simclipDir, "clip.pth") }),
    (e: unknown) => e instanceof FileFormatError && /expected the key "trainable_linearlayer"/.test(e.message),
  );
  await assert.rejects(
    openBackboneAndCheckpoint({ method: "april-gan", model: backboneDir, checkpoint: CKPT, size: SIZE, layers: [1, 2] }),
    (e: unknown) => e instanceof CheckpointMismatchError && /it has 4 adapters \(fc\.0\.\.fc\.3\) but 2 hooked layers were given/.test(e.message),
  );
  const state = new Map(
    Array.from(
      { length: 4 },
      (_, i) =>
        [
          [`fc.${i}.weight`, { data: new Float32Array(768 * 1024), shape: [768, 1024] }],
          [`fc.${i}.bias`, { data: new Float32Array(768), shape: [768] }],
        ] as [string, WeightTensor][],
    ).flat(),
  );
  assert.throws(
    () => releasedLinearLayerTensors(state, LAYERS, "vit-l.pth", { width: 128, embedDim: 32 }),
    (e: unknown) => e instanceof CheckpointMismatchError && /fc\.0\.weight has shape \[768,1024\], the --model needs \[32, 128\]/.test(e.message),
  );
  state.delete("fc.2.bias");
  assert.throws(
    () => releasedLinearLayerTensors(state, LAYERS, "broken.pth"),
    (e: unknown) => e instanceof FileFormatError && /missing fc\.2\.bias/.test(e.message),
  );
  // The command line says the same.
  await assert.rejects(
    cli([
      "predict",
      "--method",
      "april-gan",
      "--model",
      backboneDir,
      "--checkpoint",
      simclipDir,
      "--size",
      "80",
      "--out",
      path.join(tmp, "x"),
      path.join(DATA, "metal_nut/test/good/000.png"),
    ]),
    /holds 2 \.pth files/,
  );
});
