/**
 * AnomalyCLIP against the authors' released code itself: `test/fixtures/released-anomalyclip` holds
 * their checkpoint format (prompt_learner.pth on the tiny CLIP: n_ctx 4, depth 2, t_n_ctx 2) and what
 * their test.py and one step of train.py computed from it on CPU with DPAM_layer 4 (README there).
 * Runs `test-80` hook blocks 1-4, `test-80-top` block 4 only (the released protocol's analogue).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ClipModel } from "../../../src/clip/model.js";
import { loadMask } from "../../../src/clip/preprocess.js";
import { readSafetensors } from "../../../src/clip/safetensors.js";
import { FileFormatError, InvalidArgumentError, ShapeError } from "../../../src/errors.js";
import { createMethod } from "../../../src/models/registry.js";
import type { PromptLearnerClip } from "../../../src/models/coop/model.js";
import { readReleasedAnomalyClip } from "../../../src/models/anomalyclip/released-checkpoint.js";
import { CheckpointMismatchError, type LoadedCheckpoint } from "../../../src/models/common/checkpoint.js";
import { variableKey } from "../../../src/models/common/init.js";
import type { ImageFeatures, TrainItem } from "../../../src/models/common/types.js";
import { trainingProtocolFor } from "../../../src/models/common/train-options.js";
import { readNpy } from "../../../src/viz/npy.js";
import { tf, tfReady } from "../../../src/tf.js";
import { maxAbsDiff } from "../../clip-model/reference.js";

const FIX = path.join(import.meta.dirname, "../../fixtures/released-anomalyclip");
const TINY = path.join(import.meta.dirname, "../../fixtures/clip-tiny");
const DATA = path.join(FIX, "../released-simclip/data/mvtec");
const PTH = path.join(FIX, "checkpoint/prompt_learner.pth");
const MAIN = path.join(import.meta.dirname, "../../../src/cli/main.ts");
const run = promisify(execFile);

interface ReleasedImage {
  img_path: string;
  mask_path: string;
  cls_name: string;
  pr_sp: number;
  map: string;
  map_pre_gaussian: string;
}
interface ReleasedTest {
  features_list: number[];
  images: ReleasedImage[];
  text_features: { normal: number[]; abnormal: number[] };
}
interface ReleasedStep {
  features_list: number[];
  batch: { img_path: string; cls_name: string; anomaly: 0 | 1 }[];
  focal: number[];
  dice_abnormal: number[];
  dice_normal: number[];
  loss: number;
  image_loss: number;
  total: number;
}

let model: ClipModel;
let checkpoint: LoadedCheckpoint;
const readJson = async <T>(name: string) => JSON.parse(await readFile(path.join(FIX, name), "utf8")) as T;

before(async () => {
  await tfReady();
  model = await ClipModel.load(TINY, { activation: "quick-gelu", threads: 1 });
  checkpoint = await readReleasedAnomalyClip(PTH, model);
});
after(async () => {
  await model.dispose();
});

async function released(layers: number[]): Promise<PromptLearnerClip> {
  return (await createMethod("anomalyclip", { backbone: model, checkpoint, size: 80, layers, options: { dpamLayer: 4 } })) as PromptLearnerClip;
}

async function features(m: PromptLearnerClip, paths: string[]): Promise<ImageFeatures[]> {
  return m.featureSource()!.extract(paths.map((p) => path.join(DATA, p)));
}

test("the released checkpoint: prompt length and depth from its shapes, tensors as saved", async () => {
  const c = checkpoint.state.config as { promptLearner: { contextLength: number; deepTextPrompts: { depth: number; length: number } } };
  assert.equal(c.promptLearner.contextLength, 4);
  assert.deepEqual(c.promptLearner.deepTextPrompts, { depth: 1, length: 2 });
  const ref = await readSafetensors(path.join(FIX, "checkpoint/prompt_learner.safetensors"));
  const ctx = checkpoint.state.tensors.get("prompt_context")!;
  assert.deepEqual(ctx.data.subarray(0, 128), ref.get("ctx_pos")!.data);
  assert.deepEqual(ctx.data.subarray(128), ref.get("ctx_neg")!.data);
  assert.deepEqual(checkpoint.state.tensors.get("deep_text_prompts")!.data, ref.get("compound_prompts_text.0")!.data);
});

for (const [run, layers] of [
  ["test-80", [1, 2, 3, 4]],
  ["test-80-top", [4]],
] as const) {
  test(`${run}: text features, image scores and maps equal the released test.py's`, async () => {
    const r = await readJson<ReleasedTest>(`${run}.json`);
    assert.deepEqual(r.features_list, layers);
    const m = await released([...layers]);
    try {
      await m.prepare(["object"]);
      const pairs = await m.promptPairsOrt(["metal_nut"]);
      const t = (await pairs.data()) as Float32Array;
      pairs.dispose();
      assert.ok(maxAbsDiff(t.subarray(0, 32), r.text_features.normal) < 1e-5, "normal text feature");
      assert.ok(maxAbsDiff(t.subarray(32), r.text_features.abnormal) < 1e-5, "abnormal text feature");
      const out = await m.score({
        features: await features(
          m,
          r.images.map((im) => im.img_path),
        ),
        categories: r.images.map((im) => im.cls_name),
      });
      for (const [i, im] of r.images.entries()) {
        assert.ok(Math.abs(out.scores[i]! - im.pr_sp) < 1e-5, `image ${i}: score ${out.scores[i]} vs ${im.pr_sp}`);
        const ref = await readNpy(path.join(FIX, im.map));
        const d = maxAbsDiff(out.maps[i]!, ref.data);
        assert.ok(d < 1e-4, `image ${i}: map max diff ${d}`);
      }
    } finally {
      m.dispose();
    }
  });
}

for (const [name, layers] of [
  ["train-step", [1, 2, 3, 4]],
  ["train-step-top", [4]],
] as const) {
  test(`${name}: the loss, its parts and the gradients equal one step of the released train.py`, async () => {
    const r = await readJson<ReleasedStep>(`${name}.json`);
    const ref = await readSafetensors(path.join(FIX, `${name}.safetensors`));
    const m = await released([...layers]);
    try {
      const feats = await features(
        m,
        r.batch.map((b) => b.img_path),
      );
      const items: TrainItem[] = [];
      for (const [i, b] of r.batch.entries()) {
        const maskPath = b.anomaly ? path.join(DATA, b.img_path.replace("/test/", "/ground_truth/").replace(/\.png$/, "_mask.png")) : undefined;
        items.push({ features: feats[i]!, category: b.cls_name, label: b.anomaly, mask: maskPath ? await loadMask(maskPath, 80) : new Uint8Array(80 * 80) });
      }
      await m.prepare(items.map((it) => it.category));
      const g = await m.lossAndGradients(items);
      try {
        assert.ok(Math.abs(g.loss - r.total) < 1e-4 * Math.max(1, r.total), `total ${g.loss} vs ${r.total}`);
        assert.ok(Math.abs(g.parts.ce! - r.image_loss) < 1e-4, `image loss ${g.parts.ce} vs ${r.image_loss}`);
        for (const [k, l] of layers.entries()) {
          assert.ok(Math.abs(g.parts[`focal_${l}`]! - r.focal[k]!) < 1e-4, `focal ${l}`);
          assert.ok(Math.abs(g.parts[`dice_${l}`]! - r.dice_abnormal[k]!) < 1e-4, `dice ${l}`);
          assert.ok(Math.abs(g.parts[`dice_normal_${l}`]! - r.dice_normal[k]!) < 1e-4, `dice normal ${l}`);
        }
        const byKey = new Map([...g.grads].map(([v, t]) => [variableKey(v), { v, t }]));
        const ctx = byKey.get("prompt_context")!.t.dataSync() as Float32Array;
        for (const [key, ours] of [
          ["ctx_pos", ctx.subarray(0, 128)],
          ["ctx_neg", ctx.subarray(128)],
        ] as const) {
          const d = maxAbsDiff(ours, ref.get(`grad/${key}`)!.data);
          assert.ok(d < 1e-4, `grad ${key}: max diff ${d}`);
        }
        // Each sequence's gradient of a deep prompt is rounded to float16 before the two are summed
        // (the released `.half()`), so a float32-level difference may flip a rounding: one float16 ulp.
        const deep = byKey.get("deep_text_prompts")!.t.dataSync() as Float32Array;
        const deepRef = ref.get("grad/compound_prompts_text.0")!.data;
        let flipped = 0;
        for (let i = 0; i < deep.length; i++) {
          const d = Math.abs(deep[i]! - deepRef[i]!);
          if (d < 1e-4) continue;
          flipped++;
          assert.ok(d <= 2 ** (Math.floor(Math.log2(Math.abs(deepRef[i]!))) - 10), `grad compound_prompts_text.0[${i}]: ${deep[i]} vs ${deepRef[i]}`);
        }
        assert.ok(flipped <= 2, `${flipped} of ${deep.length} deep-prompt gradients differ by a float16 rounding`);
        // One Adam step as train.py takes it (lr 1e-3, betas (0.5, 0.999), eps 1e-8): the fixture's new values.
        const p = m.trainingProtocol("mvtec");
        const opt = tf.train.adam(p.lr, p.betas[0], p.betas[1], 1e-8);
        opt.applyGradients([...g.grads].map(([v, t]) => ({ name: v.name, tensor: t })));
        opt.dispose();
        const after = m.state().tensors;
        const ctxAfter = after.get("prompt_context")!.data;
        const stepped: [string, Float32Array][] = [
          ["ctx_pos", ctxAfter.subarray(0, 128)],
          ["ctx_neg", ctxAfter.subarray(128)],
          ["compound_prompts_text.0", after.get("deep_text_prompts")!.data],
        ];
        for (const [key, ours] of stepped) {
          const d = maxAbsDiff(ours, ref.get(`after/${key}`)!.data);
          assert.ok(d < 1e-4, `${key} after the step: max diff ${d}`);
        }
      } finally {
        for (const t of g.grads.values()) t.dispose();
      }
    } finally {
      m.dispose();
    }
  });
}

test("the training recipe is train.sh's: 15 epochs, batch 8, Adam 1e-3 (0.5, 0.999), no schedule, seed 111", async () => {
  const m = await released([4]);
  try {
    assert.deepEqual(trainingProtocolFor(m, "visa"), {
      epochs: 15,
      batchSize: 8,
      lr: 1e-3,
      betas: [0.5, 0.999],
      schedule: "constant",
      seed: 111,
      mosaicRate: 0,
    });
  } finally {
    m.dispose();
  }
});

test("the command line: simclip predict --method anomalyclip --checkpoint FILE.pth or DIR writes the released maps and scores", async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "simclip-anomalyclip-"));
  const cli = (args: string[]) => run(process.execPath, ["--import", "tsx", MAIN, ...args], { env: { ...process.env, SIMCLIP_QUIET: "1" } });
  try {
    for (const [name, checkpointArg, extra] of [
      ["test-80-top", PTH, []],
      ["test-80", path.dirname(PTH), ["--layers", "1,2,3,4"]],
    ] as const) {
      const r = await readJson<ReleasedTest>(`${name}.json`);
      const im = r.images.find((i) => i.mask_path !== "")!;
      const out = path.join(tmp, name);
      await cli([
        "predict",
        "--method",
        "anomalyclip",
        "--model",
        TINY,
        "--checkpoint",
        checkpointArg,
        "--size",
        "80",
        ...extra,
        "--option",
        "dpamLayer=4",
        "--category",
        im.cls_name,
        "--out",
        out,
        path.join(DATA, im.img_path),
      ]);
      const stem = path.basename(im.img_path, ".png");
      const d = maxAbsDiff((await readNpy(path.join(out, `${stem}_map.npy`))).data, (await readNpy(path.join(FIX, im.map))).data);
      assert.ok(d < 1e-4, `${name}: map max diff ${d}`);
      const json = JSON.parse(await readFile(path.join(out, `${stem}.json`), "utf8")) as { score: number };
      assert.ok(Math.abs(json.score - im.pr_sp) < 1e-5, `${name}: score ${json.score} vs ${im.pr_sp}`);
    }
    const img = path.join(DATA, "metal_nut/test/good/000.png");
    const base = ["predict", "--method", "anomalyclip", "--model", TINY, "--size", "80", "--category", "metal_nut", "--out", path.join(tmp, "x"), img];
    // The released default DPAM_layer 20 needs 19 blocks; the tiny CLIP has 4.
    await assert.rejects(
      cli([...base, "--checkpoint", PTH]),
      /the released dpamLayer 20 needs more depth than this backbone has \(at most 5 = vision blocks \+ 1\); pass --option dpamLayer=N/,
    );
    const other = path.join(tmp, "other.pth");
    await writeFile(other, await readFile(path.join(FIX, "../released-simclip/checkpoint/visionAdapter.pth")));
    await assert.rejects(cli([...base, "--checkpoint", other, "--option", "dpamLayer=4"]), /expected the key "prompt_learner"/);
    await assert.rejects(cli([...base, "--checkpoint", PTH, "--option", "dpamLayer=4", "--option", "nCtx=12"]), /prompt shapes come from the checkpoint/);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test("typed errors: another file, another backbone, untrained DPAM out of range", async () => {
  await assert.rejects(readReleasedAnomalyClip(path.join(FIX, "../released-simclip/checkpoint/visionAdapter.pth"), model), FileFormatError);
  const shuffled = {
    ...model,
    weights: new Map([...model.weights].map(([k, v]) => [k, k === "token_embedding.weight" ? { data: v.data.map((x) => x + 0.01), shape: v.shape } : v])),
  };
  await assert.rejects(readReleasedAnomalyClip(PTH, shuffled), CheckpointMismatchError);
  await assert.rejects(createMethod("anomalyclip", { backbone: model, size: 80 }), InvalidArgumentError);
  await assert.rejects(createMethod("anomalyclip", { backbone: model, size: 80, options: { depth: 2, dpamLayer: 6 } }), ShapeError);
  await assert.rejects(createMethod("anomalyclip", { backbone: model, size: 80, options: { dpamLayer: 1 } }), InvalidArgumentError);
  const fresh = await createMethod("anomalyclip", { backbone: model, size: 80, options: { dpamLayer: 4, depth: 2, nCtx: 4, tNCtx: 2 } });
  assert.deepEqual(fresh.layers, [4]);
  fresh.dispose?.();
});
