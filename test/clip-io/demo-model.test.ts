import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clipWeightShapes } from "../../src/clip/weight-names.js";
import { demoArchConfig, ensureDemoModel, isRandomDemoModel, writeDemoModel } from "../../src/clip/demo-model.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { loadClipDir } from "../../src/clip/weights.js";
import { ClipTokenizer } from "../../src/clip/tokenizer.js";

const ROOT = join(import.meta.dirname, "..", "..");
const TINY = join(ROOT, "test", "fixtures", "clip-tiny");
const tmp = mkdtempSync(join(tmpdir(), "simclip-demo-"));

test("real architectures have OpenAI's parameter counts", () => {
  // Parameter counts of OpenAI's released checkpoints (sum of numel over model.state_dict()).
  const expected: Record<string, number> = {
    "ViT-B-32": 151_277_313,
    "ViT-B-16": 149_620_737,
    "ViT-L-14": 427_616_513,
    "ViT-L-14-336": 427_944_193,
  };
  for (const [arch, count] of Object.entries(expected)) {
    let n = 0;
    for (const s of clipWeightShapes(demoArchConfig(arch)).values()) n += s.reduce((a, b) => a * b, 1);
    assert.equal(n, count, arch);
  }
  assert.deepEqual(clipWeightShapes(demoArchConfig("ViT-L-14-336")).get("visual.positional_embedding"), [577, 1024]);
});

test("demo-model CLI and library give identical bytes for a seed; the model loads and is marked random", async () => {
  const a = join(tmp, "a");
  const b = join(tmp, "b");
  const c = join(tmp, "c");
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), "demo-model", "--arch", "tiny", "--seed", "5", "--out", a],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  assert.match(out, /randomly initialised tiny CLIP \(seed 5, not pretrained/);
  await writeDemoModel(b, { arch: "tiny", seed: 5 });
  await writeDemoModel(c, { arch: "tiny", seed: 6 });
  for (const f of ["model.safetensors", "config.json", "preprocessor_config.json", "vocab.json", "merges.txt"]) {
    assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f);
  }
  assert.ok(!readFileSync(join(a, "model.safetensors")).equals(readFileSync(join(c, "model.safetensors"))));

  const loaded = await loadClipDir(a);
  assert.deepEqual(loaded.config, demoArchConfig("tiny"));
  assert.equal(await isRandomDemoModel(a), true);
  assert.equal(await isRandomDemoModel(join(a, "config.json")), true);
  assert.deepEqual(JSON.parse(readFileSync(join(a, "config.json"), "utf8")).simclip_demo, { random: true, arch: "tiny", seed: 5 });
  assert.equal(await isRandomDemoModel(TINY), false);

  // ensureDemoModel reuses a matching demo, refuses to overwrite a different model.
  const mtime = statSync(join(b, "model.safetensors")).mtimeMs;
  assert.equal((await ensureDemoModel(b, { arch: "tiny", seed: 5 })).created, false);
  assert.equal(statSync(join(b, "model.safetensors")).mtimeMs, mtime);
  await assert.rejects(ensureDemoModel(b, { arch: "tiny", seed: 6 }), InvalidArgumentError);
  await assert.rejects(ensureDemoModel(TINY, { arch: "tiny", seed: 5 }), InvalidArgumentError);
  const fresh = await ensureDemoModel(join(tmp, "fresh"), { arch: "tiny", seed: 5 });
  assert.equal(fresh.created, true);
  assert.ok(readFileSync(join(tmp, "fresh", "model.safetensors")).equals(readFileSync(join(b, "model.safetensors"))));

  // CLIP's real vocabulary: the demo's tokenizer files are the fixture's.
  assert.ok(readFileSync(join(a, "vocab.json")).equals(readFileSync(join(TINY, "vocab.json"))));
  const tok = await ClipTokenizer.fromDir(a);
  assert.deepEqual(tok.encode("a photo of a bottle"), (await ClipTokenizer.fromDir(TINY)).encode("a photo of a bottle"));

  // OpenAI's initialisation (clip/model.py CLIP.initialize_parameters and PyTorch defaults).
  const w = loaded.weights;
  const std = (name: string) => {
    const d = w.get(name)!.data;
    let s = 0;
    for (const x of d) s += x * x;
    return Math.sqrt(s / d.length);
  };
  const maxAbs = (name: string) => w.get(name)!.data.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  assert.ok(Math.abs(std("token_embedding.weight") - 0.02) < 0.0005);
  assert.ok(Math.abs(std("visual.proj") - 128 ** -0.5) < 0.05 * 128 ** -0.5);
  assert.ok(Math.abs(std("transformer.resblocks.0.attn.in_proj_weight") - 64 ** -0.5) < 0.05 * 64 ** -0.5);
  assert.ok(Math.abs(std("transformer.resblocks.1.mlp.c_proj.weight") - 64 ** -0.5 * 4 ** -0.5) < 0.05 * 64 ** -0.5 * 4 ** -0.5);
  assert.ok(maxAbs("visual.conv1.weight") <= 1 / Math.sqrt(3 * 8 * 8));
  assert.ok(maxAbs("visual.conv1.weight") > 0.99 / Math.sqrt(3 * 8 * 8));
  assert.ok(maxAbs("visual.transformer.resblocks.0.attn.in_proj_weight") <= Math.sqrt(6 / (4 * 128)));
  assert.equal(maxAbs("visual.transformer.resblocks.0.attn.in_proj_bias"), 0);
  assert.ok(w.get("visual.ln_post.weight")!.data.every((x) => x === 1));
  assert.equal(w.get("logit_scale")!.data[0], Math.fround(Math.log(1 / 0.07)));
});
