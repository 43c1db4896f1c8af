import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { at } from "../at.js";
import { TINY_DIR, tinyReference, assertClose } from "./reference.js";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const simclip = (args: string[]) => run(process.execPath, ["--import", "tsx", MAIN, ...args], { maxBuffer: 64 << 20 });
const ref = tinyReference();

interface EncodedImage {
  path: string;
  pixel_values: number[][][];
  hidden_states: Record<string, number[][]>;
  image_embeds: number[];
}
interface EncodedText {
  text: string;
  input_ids: number[];
  last_hidden_state: number[][];
  text_embeds: number[];
}

/** One layer's hidden state, failing the test when the output lacks it. */
function hidden(img: EncodedImage, layer: string): number[][] {
  const h = img.hidden_states[layer];
  assert.ok(h, `no hidden state for layer ${layer} among ${Object.keys(img.hidden_states).join(", ")}`);
  return h;
}

/** Exit code and stderr of a CLI run that failed. */
function failure(e: unknown): { code: unknown; stderr: string } {
  assert.ok(e instanceof Error && "stderr" in e && typeof e.stderr === "string", `expected a failed child process, got ${e}`);
  return { code: "code" in e ? e.code : undefined, stderr: e.stderr };
}

test("encode-image --pixel-values writes the issue's JSON with reference values", async () => {
  const dir = await mkdtemp(join(tmpdir(), "simclip-encode-"));
  try {
    const names = [ref.images[1]!, ref.images[3]!];
    const pv = join(dir, "pixels.json");
    await writeFile(pv, JSON.stringify(names.map((n) => ref.preprocess[n])));
    const out = join(dir, "out.json");
    await simclip(["encode-image", "--model", TINY_DIR, "--layers", "2,4", "--pixel-values", pv, "--out", out]);
    const json = JSON.parse(await readFile(out, "utf8")) as { images: EncodedImage[] };
    assert.deepEqual(Object.keys(json), ["images"]);
    assert.equal(json.images.length, 2);
    json.images.forEach((img, i) => {
      const r = ref.vision[names[i]!]!;
      assert.deepEqual(Object.keys(img), ["path", "pixel_values", "hidden_states", "image_embeds"]);
      assert.equal(img.path, `${pv}[${i}]`);
      assert.deepEqual(img.pixel_values, ref.preprocess[names[i]!], "pixel values written back exactly (float32 shortest form)");
      assert.deepEqual(Object.keys(img.hidden_states), ["2", "4"]);
      assert.equal(hidden(img, "4").length, 65);
      assert.equal(at(hidden(img, "4"), 0).length, 128);
      assertClose(hidden(img, "2").flat(), r.hidden_states[1]!.flat(), "hidden 2");
      assertClose(hidden(img, "4").flat(), r.hidden_states[3]!.flat(), "hidden 4");
      assertClose(img.image_embeds, r.image_embeds, "image_embeds");
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("encode-image on PNG files (CLIP transform) and --ln-post", async () => {
  const dir = await mkdtemp(join(tmpdir(), "simclip-encode-"));
  try {
    const name = ref.images[2]!;
    const out = join(dir, "out.json");
    await simclip(["encode-image", "--model", TINY_DIR, "--layers", "3", "--ln-post", "--out", out, join(TINY_DIR, "images", name)]);
    const img = at((JSON.parse(await readFile(out, "utf8")) as { images: EncodedImage[] }).images, 0);
    // clip-io's preprocessing replicates Pillow; the decoded file must give the reference pixels.
    assertClose(img.pixel_values.flat(2), ref.preprocess[name]!.flat(2), "pixel values", 1e-5);
    assertClose(hidden(img, "3").flat(), ref.vision[name]!.patch_tokens_ln_post[2]!.flat(), "ln_post layer 3");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("encode-text writes ids, last_hidden_state and text_embeds", async () => {
  const dir = await mkdtemp(join(tmpdir(), "simclip-encode-"));
  try {
    const picks = [ref.text[0]!, ref.text[5]!];
    const out = join(dir, "text.json");
    await simclip(["encode-text", "--model", TINY_DIR, "--out", out, ...picks.map((t) => t.text)]);
    const json = JSON.parse(await readFile(out, "utf8")) as { texts: EncodedText[] };
    assert.equal(json.texts.length, 2);
    json.texts.forEach((t, i) => {
      assert.deepEqual(Object.keys(t), ["text", "input_ids", "last_hidden_state", "text_embeds"]);
      assert.equal(t.text, picks[i]!.text);
      assert.deepEqual(t.input_ids, picks[i]!.input_ids);
      assert.equal(t.last_hidden_state.length, 77);
      assertClose(t.last_hidden_state.flat(), picks[i]!.last_hidden_state.flat(), "last_hidden_state");
      assertClose(t.text_embeds, picks[i]!.text_embeds, "text_embeds");
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("encode-image rejects bad arguments with a typed error and exit code 2", async () => {
  await assert.rejects(simclip(["encode-image", "--model", TINY_DIR, "--layers", "1,x", "--out", "/dev/null", "a.png"]), (e) => {
    const { code, stderr } = failure(e);
    assert.equal(code, 2);
    assert.match(stderr, /InvalidArgumentError: --layers must be/);
    return true;
  });
  await assert.rejects(simclip(["encode-image", "--model", TINY_DIR, "--out", "/dev/null"]), (e) => {
    const { code, stderr } = failure(e);
    assert.equal(code, 2);
    assert.match(stderr, /either image files or --pixel-values/);
    return true;
  });
  await assert.rejects(simclip(["encode-image", "--model", TINY_DIR, "--layers", "9", "--pixel-values", "/nonexistent.json", "--out", "/dev/null"]), (e) => {
    const { code, stderr } = failure(e);
    assert.equal(code, 2);
    assert.match(stderr, /MissingFileError: \/nonexistent\.json/);
    return true;
  });
});
