import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MissingFileError } from "../../src/errors.js";
import { ClipTokenizer, clipNormalizeText, pythonHtmlUnescape } from "../../src/clip/tokenizer.js";

const TINY = join(import.meta.dirname, "..", "fixtures", "clip-tiny");
const ref = JSON.parse(readFileSync(join(TINY, "reference.json"), "utf8")) as {
  text: Array<{ text: string; input_ids: number[]; bpe_ids: number[]; eot_index: number }>;
};
const tok = await ClipTokenizer.fromDir(TINY);

test("bpe ids equal OpenAI SimpleTokenizer.encode on all 26 fixture prompts", () => {
  assert.equal(ref.text.length, 26);
  for (const p of ref.text) assert.deepEqual(tok.encode(p.text), p.bpe_ids, JSON.stringify(p.text));
});

test("tokenize equals clip.tokenize(truncate=True): SOT/EOT, EOT forced at 76, zero padding", () => {
  const ids = tok.tokenize(ref.text.map((p) => p.text));
  assert.equal(ids.length, 26 * 77);
  ref.text.forEach((p, row) => {
    const got = Array.from(ids.subarray(row * 77, (row + 1) * 77));
    assert.deepEqual(got, p.input_ids, JSON.stringify(p.text));
    assert.equal(got.indexOf(Math.max(...got)), p.eot_index);
  });
  const long = ref.text.find((p) => p.bpe_ids.length > 75)!;
  assert.equal(long.input_ids[76], 49407);
});

test("normalisation: double html.unescape, Python whitespace, lower-case", () => {
  assert.equal(clipNormalizeText("  Fish &amp;amp; CHIPS&lt;3\t\n x "), "fish & chips<3 x");
  // U+001C..U+001F and U+0085 are whitespace for Python's re/str.strip but not for JS's \s.
  assert.equal(clipNormalizeText("a\u001cb\u0085c"), "a b c");
  // "a</w>" = 256 + (97 - 33) in bytes_to_unicode order, "b</w>" the next; the special token stays whole.
  assert.deepEqual(tok.encode("a<|endoftext|>b"), [320, 49407, 321]);
});

test("html unescaping equals Python's html.unescape", () => {
  // Expected values printed by CPython 3.11's html.unescape.
  const cases: Array<[string, string]> = [
    ["&#1;", ""],
    ["&#x81;", "\u0081"],
    ["&#x80;", "\u20ac"],
    ["&#xFFFE;", ""],
    ["&#11;", ""],
    ["&#13;", "\r"],
    ["&#0;", "\ufffd"],
    ["&#x7f;", ""],
    ["&#xfdd0;", ""],
    ["&#x1FFFF;", ""],
    ["&#xD800;", "\ufffd"],
    ["&#99999999999;", "\ufffd"],
    ["&notit;", "\u00acit;"],
    ["&amp", "&"],
    ["&#65", "A"],
    ["&#x41x", "Ax"],
    ["&#38;amp;", "&amp;"],
    ["&bogus; &", "&bogus; &"],
  ];
  for (const [input, want] of cases) assert.equal(pythonHtmlUnescape(input), want, JSON.stringify(input));
});

test("a shorter context truncates with EOT last", () => {
  const ids = Array.from(tok.tokenize(["a photo of a bottle without defect."], 5));
  assert.deepEqual(ids, [49406, ...ref.text[0]!.bpe_ids.slice(0, 3), 49407]);
});

test("missing tokenizer files say what to place where", async () => {
  const d = mkdtempSync(join(tmpdir(), "simclip-tok-"));
  await assert.rejects(
    ClipTokenizer.fromDir(d),
    (e: unknown) => e instanceof MissingFileError && /vocab\.json|merges\.txt/.test(e.path) && /assets\/clip-bpe/.test(e.message),
  );
});
