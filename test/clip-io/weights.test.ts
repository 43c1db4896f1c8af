import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileFormatError, MissingFileError } from "../../src/errors.js";
import { readSafetensors, writeSafetensors } from "../../src/clip/safetensors.js";
import { ClipWeightsError, loadClipDir } from "../../src/clip/weights.js";
import type { WeightTensor } from "../../src/clip/weights.js";
import { openaiToHfWeights } from "../../src/clip/weight-names.js";

const TINY = join(import.meta.dirname, "..", "fixtures", "clip-tiny");
const ref = JSON.parse(readFileSync(join(TINY, "reference.json"), "utf8")) as { config: Record<string, number>; meta: Record<string, number> };
const tmp = mkdtempSync(join(tmpdir(), "simclip-w-"));

const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

function dirWith(name: string, files: Record<string, string>): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  for (const [dst, src] of Object.entries(files)) copyFileSync(join(TINY, src), join(d, dst));
  return d;
}

test("both namings load to the reference config and identical canonical tensors", async () => {
  const hf = await loadClipDir(TINY);
  const oa = await loadClipDir(TINY, { format: "openai" });
  assert.equal(hf.format, "huggingface");
  assert.equal(oa.format, "openai");
  const c = ref.config;
  for (const loaded of [hf, oa]) {
    assert.deepEqual(loaded.config, {
      embedDim: c.embed_dim,
      activation: "quick-gelu",
      vision: { width: c.vision_width, layers: c.vision_layers, heads: ref.meta.vision_heads, patchSize: c.vision_patch_size, imageSize: c.image_resolution },
      text: { width: c.transformer_width, layers: c.transformer_layers, heads: c.transformer_heads, contextLength: c.context_length, vocabSize: c.vocab_size },
      imageMean: [0.48145466, 0.4578275, 0.40821073],
      imageStd: [0.26862954, 0.26130258, 0.27577711],
    });
  }
  assert.equal(hf.fingerprint, sha(join(TINY, "model.safetensors")));
  assert.equal(oa.fingerprint, sha(join(TINY, "open_clip_model.safetensors")));
  // The OpenAI-named file is the reference code's own state dict: canonical names must equal it.
  const raw = await readSafetensors(join(TINY, "open_clip_model.safetensors"));
  assert.deepEqual([...hf.weights.keys()].sort(), [...raw.keys()].sort());
  for (const [name, t] of raw) {
    assert.deepEqual(hf.weights.get(name)!.shape, t.shape, name);
    assert.deepEqual(hf.weights.get(name)!.data, t.data, name);
    assert.deepEqual(oa.weights.get(name)!.data, t.data, name);
  }
});

test("canonical -> Hugging Face names reproduces the fixture's model.safetensors exactly", async () => {
  const oa = await loadClipDir(TINY, { format: "openai" });
  const hfRaw = await readSafetensors(join(TINY, "model.safetensors"));
  const mapped = openaiToHfWeights(oa.weights);
  assert.deepEqual([...mapped.keys()].sort(), [...hfRaw.keys()].sort());
  for (const [name, t] of hfRaw) {
    assert.deepEqual(mapped.get(name)!.shape, t.shape, name);
    assert.deepEqual(mapped.get(name)!.data, t.data, name);
  }
});

test("an F16 Hugging Face checkpoint loads as float32 of the rounded values", async () => {
  const d = dirWith("f16", { "config.json": "config.json" });
  const hfRaw = await readSafetensors(join(TINY, "model.safetensors"));
  await writeSafetensors(join(d, "model.safetensors"), hfRaw, { format: "pt" }, { dtype: "F16" });
  const loaded = await loadClipDir(d);
  const oa = await readSafetensors(join(TINY, "open_clip_model.safetensors"));
  for (const [name, t] of oa) {
    const got = loaded.weights.get(name)!.data;
    for (let i = 0; i < t.data.length; i++) {
      // Half precision keeps 11 significant bits: relative error <= 2^-11 (normal range).
      assert.ok(Math.abs(got[i]! - t.data[i]!) <= Math.abs(t.data[i]!) * 2 ** -11 + 2 ** -24, `${name}[${i}]`);
    }
  }
});

test("missing files say which files to place where", async () => {
  const empty = dirWith("empty", {});
  await assert.rejects(loadClipDir(empty), (e: unknown) => {
    assert.ok(e instanceof MissingFileError);
    assert.equal(e.path, join(empty, "model.safetensors"));
    assert.match(e.message, /model\.safetensors \+ config\.json .* or open_clip_model\.safetensors/);
    return true;
  });
  const noConfig = dirWith("noconfig", { "model.safetensors": "model.safetensors" });
  await assert.rejects(loadClipDir(noConfig), (e: unknown) => e instanceof MissingFileError && e.path === join(noConfig, "config.json"));
  await assert.rejects(loadClipDir(join(tmp, "does-not-exist")), MissingFileError);
  await assert.rejects(
    loadClipDir(empty, { format: "openai" }),
    (e: unknown) => e instanceof MissingFileError && e.path === join(empty, "open_clip_model.safetensors"),
  );
});

async function expectWeightsError(dir: string, format: "huggingface" | "openai", tensor: string, pattern: RegExp): Promise<void> {
  await assert.rejects(loadClipDir(dir, { format }), (e: unknown) => {
    assert.ok(e instanceof ClipWeightsError, `expected ClipWeightsError, got ${String(e)}`);
    assert.equal(e.tensor, tensor);
    assert.match(e.message, pattern);
    return true;
  });
}

async function withEdited(name: string, file: string, edit: (m: Map<string, WeightTensor>) => void): Promise<string> {
  const d = dirWith(name, { "config.json": "config.json" });
  const t = await readSafetensors(join(TINY, file));
  edit(t);
  await writeSafetensors(join(d, file), t);
  return d;
}

test("missing, extra and wrong-shaped tensors are errors naming the tensor and shapes", async () => {
  const q = "vision_model.encoder.layers.2.self_attn.k_proj.weight";
  await expectWeightsError(
    await withEdited("hf-missing", "model.safetensors", (m) => m.delete(q)),
    "huggingface",
    q,
    /missing \(needed for visual\.transformer\.resblocks\.2\.attn\.in_proj_weight/,
  );
  await expectWeightsError(
    await withEdited("hf-extra", "model.safetensors", (m) =>
      m.set("vision_model.encoder.layers.4.mlp.fc1.bias", { data: new Float32Array(512), shape: [512] }),
    ),
    "huggingface",
    "vision_model.encoder.layers.4.mlp.fc1.bias",
    /unexpected tensor/,
  );
  await expectWeightsError(
    await withEdited("hf-shape", "model.safetensors", (m) => m.set("visual_projection.weight", { data: new Float32Array(128 * 32), shape: [128, 32] })),
    "huggingface",
    "visual_projection.weight",
    /expected shape \[32, 128\] \(from config\.json\), found \[128, 32\]/,
  );
  await expectWeightsError(
    await withEdited("oa-missing", "open_clip_model.safetensors", (m) => m.delete("visual.ln_post.bias")),
    "openai",
    "visual.ln_post.bias",
    /missing \(expected shape \[128\]\)/,
  );
  await expectWeightsError(
    await withEdited("oa-extra", "open_clip_model.safetensors", (m) => m.set("visual.attnpool.c_proj.bias", { data: new Float32Array(2), shape: [2] })),
    "openai",
    "visual.attnpool.c_proj.bias",
    /unexpected tensor/,
  );
  await expectWeightsError(
    await withEdited("oa-shape", "open_clip_model.safetensors", (m) =>
      m.set("transformer.resblocks.1.mlp.c_fc.weight", { data: new Float32Array(64 * 32), shape: [64, 32] }),
    ),
    "openai",
    "transformer.resblocks.1.mlp.c_fc.weight",
    /expected shape \[128, 32\] .* found \[64, 32\]/,
  );
});

test("OpenAI naming: heads come from width / 64 unless a config says otherwise", async () => {
  // Without any config beside it, the tiny model's 32-wide text tower has no width/64 head count.
  const bare = dirWith("bare", { "open_clip_model.safetensors": "open_clip_model.safetensors" });
  await assert.rejects(loadClipDir(bare), (e: unknown) => e instanceof FileFormatError && /text width 32 is not a multiple of 64/.test(e.message));
  writeFileSync(join(bare, "open_clip_config.json"), JSON.stringify({ model_cfg: { vision_cfg: { head_width: 32 }, text_cfg: { heads: 4 } } }));
  const loaded = await loadClipDir(bare);
  assert.equal(loaded.config.vision.heads, 4);
  assert.equal(loaded.config.text.heads, 4);
});

test("image mean/std come from preprocessor_config.json when present", async () => {
  const d = dirWith("stats", { "config.json": "config.json", "model.safetensors": "model.safetensors" });
  writeFileSync(join(d, "preprocessor_config.json"), JSON.stringify({ image_mean: [0.5, 0.5, 0.5], image_std: [0.25, 0.5, 1] }));
  const loaded = await loadClipDir(d);
  assert.deepEqual(loaded.config.imageMean, [0.5, 0.5, 0.5]);
  assert.deepEqual(loaded.config.imageStd, [0.25, 0.5, 1]);
  writeFileSync(join(d, "preprocessor_config.json"), JSON.stringify({ image_mean: [0.5, 0.5], image_std: [1, 1, 1] }));
  await assert.rejects(loadClipDir(d), (e: unknown) => e instanceof FileFormatError && /image_mean must be a list of 3 numbers/.test(e.message));
});
