/**
 * CLIP's byte-level BPE tokenizer, a port of OpenAI's clip/simple_tokenizer.py reading the Hugging
 * Face files (vocab.json = SimpleTokenizer().encoder, merges.txt = the same merges in rank order).
 *
 * Text normalisation follows OpenAI, not Hugging Face's CLIPTokenizer (which skips html.unescape):
 * - `ftfy.fix_text` is treated as the identity: ftfy has no JavaScript port. It only changes
 *   mojibake and unusual Unicode (e.g. fullwidth forms, curly quotes stay as they are here), so ids
 *   can differ from OpenAI's on such text; on plain prompts (all 26 fixture prompts) they are equal.
 * - `html.unescape` twice: Python's algorithm (`pythonHtmlUnescape`), with the `entities` library's
 *   HTML5 table for named references.
 * - whitespace runs -> one space, strip, lower-case, then the split regex and BPE.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { decodeHTML } from "entities";
import { FileFormatError, InvalidArgumentError, MissingFileError } from "../errors.js";

export const SOT_TOKEN = "<|startoftext|>";
export const EOT_TOKEN = "<|endoftext|>";

/**
 * Python's `str.isspace` characters, which `re`'s `\s` and `str.strip` use. JavaScript's `\s`
 * differs (it lacks U+001C-U+001F and U+0085 and adds U+FEFF), so the class is spelled out.
 */
const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, "gu");
const EDGE_SPACE = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "gu");
/** simple_tokenizer.py's pattern (digits one by one); `regex`'s \p{L}/\p{N} are JS's with the u flag. */
const SPLIT = new RegExp(`<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^${PY_SPACE}\\p{L}\\p{N}]+`, "giu");

/** simple_tokenizer.py `bytes_to_unicode`: byte -> printable character standing for it. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const table = new Array<string>(256);
  for (const b of bs) table[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCharCode(256 + n++);
  }
  return table;
}

const BYTE_ENCODER = bytesToUnicode();
const utf8 = new TextEncoder();

/** Python html/__init__.py `_charref`: one left-to-right pass over numeric and named references. */
const PY_CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

/** C1 code points that Python's `_invalid_charrefs` maps to themselves (undefined in cp1252). */
const PY_RAW_C1 = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

/** Python's `_invalid_codepoints`: numeric references to these decode to nothing. */
function pyInvalidCodepoint(n: number): boolean {
  return (n >= 0x1 && n <= 0x8) || n === 0xb || (n >= 0xe && n <= 0x1f) || (n >= 0x7f && n <= 0x9f) || (n >= 0xfdd0 && n <= 0xfdef) || (n & 0xfffe) === 0xfffe;
}

function pyNumericRef(body: string): string {
  const digits = body.replace(/;$/, "");
  const n = digits[1] === "x" || digits[1] === "X" ? parseInt(digits.slice(2), 16) : parseInt(digits.slice(1), 10);
  if (n === 0) return "\ufffd";
  if (n === 0x0d) return "\r";
  if (n >= 0x80 && n <= 0x9f) {
    // cp1252 for the rest of the C1 range, the same table HTML5 (and so `entities`) uses.
    return PY_RAW_C1.has(n) ? String.fromCharCode(n) : decodeHTML(`&#${n};`);
  }
  if ((n >= 0xd800 && n <= 0xdfff) || n > 0x10ffff) return "\ufffd";
  if (pyInvalidCodepoint(n)) return "";
  return String.fromCodePoint(n);
}

/**
 * Python's `html.unescape`. Named references follow the HTML5 rules (longest legacy name without
 * semicolon) that `entities`' decoder implements; numeric ones follow Python's own tables, which
 * differ from HTML5 for control and non-character code points (e.g. `&#1;` -> "").
 */
export function pythonHtmlUnescape(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(PY_CHARREF, (_m, body: string) => (body[0] === "#" ? pyNumericRef(body) : decodeHTML(`&${body}`)));
}

/** OpenAI's `whitespace_clean(basic_clean(text))` with ftfy as identity, then lower-case. */
export function clipNormalizeText(text: string): string {
  const unescaped = pythonHtmlUnescape(pythonHtmlUnescape(text)).replace(EDGE_SPACE, "");
  return unescaped.replace(SPACE_RUN, " ").replace(EDGE_SPACE, "").toLowerCase();
}

export class ClipTokenizer {
  readonly sotId: number;
  readonly eotId: number;
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, string[]>();

  constructor(
    private readonly encoder: Map<string, number>,
    merges: Array<[string, string]>,
    private readonly source = "tokenizer",
  ) {
    this.ranks = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
    const sot = encoder.get(SOT_TOKEN);
    const eot = encoder.get(EOT_TOKEN);
    if (sot === undefined || eot === undefined) {
      throw new FileFormatError(source, `vocabulary lacks ${SOT_TOKEN} or ${EOT_TOKEN}; expected CLIP's vocab.json`);
    }
    this.sotId = sot;
    this.eotId = eot;
    // simple_tokenizer.py seeds its cache so the special tokens are never split.
    this.cache.set(SOT_TOKEN, [SOT_TOKEN]);
    this.cache.set(EOT_TOKEN, [EOT_TOKEN]);
  }

  /** Reads `vocab.json` and `merges.txt` (Hugging Face CLIPTokenizer files) from a directory. */
  static async fromDir(dir: string): Promise<ClipTokenizer> {
    return ClipTokenizer.fromFiles(join(dir, "vocab.json"), join(dir, "merges.txt"));
  }

  static async fromFiles(vocabPath: string, mergesPath: string): Promise<ClipTokenizer> {
    const help = "copy CLIP's vocab.json and merges.txt (e.g. from simclip's assets/clip-bpe/ or the model's Hugging Face repository) there";
    const read = async (p: string) => {
      try {
        return await readFile(p, "utf8");
      } catch {
        throw new MissingFileError(p, `tokenizer file not found; ${help}`);
      }
    };
    const [vocabText, mergesText] = await Promise.all([read(vocabPath), read(mergesPath)]);
    let vocab: unknown;
    try {
      vocab = JSON.parse(vocabText);
    } catch (e) {
      throw new FileFormatError(vocabPath, `not valid JSON (${(e as Error).message})`);
    }
    if (typeof vocab !== "object" || vocab === null || Array.isArray(vocab)) {
      throw new FileFormatError(vocabPath, "expected a JSON object mapping token -> id");
    }
    const encoder = new Map<string, number>();
    for (const [tok, id] of Object.entries(vocab)) {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
        throw new FileFormatError(vocabPath, `token ${JSON.stringify(tok)} has id ${JSON.stringify(id)}; expected a non-negative integer`);
      }
      encoder.set(tok, id);
    }
    const merges: Array<[string, string]> = [];
    const lines = mergesText.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.replace(/\r$/, "");
      if ((i === 0 && line.startsWith("#version")) || line === "") continue;
      const parts = line.split(" ");
      if (parts.length !== 2) {
        throw new FileFormatError(mergesPath, `line ${i + 1} is ${JSON.stringify(line)}; expected two symbols separated by one space`);
      }
      merges.push([parts[0]!, parts[1]!]);
    }
    return new ClipTokenizer(encoder, merges, vocabPath);
  }

  get vocabSize(): number {
    return this.encoder.size;
  }

  /** simple_tokenizer.py `bpe`: repeatedly merge the lowest-ranked adjacent pair. */
  private bpe(token: string): string[] {
    const cached = this.cache.get(token);
    if (cached) return cached;
    let word = Array.from(token);
    word[word.length - 1] += "</w>";
    while (word.length > 1) {
      let best = Infinity;
      let first = "";
      let second = "";
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < best) {
          best = r;
          first = word[i]!;
          second = word[i + 1]!;
        }
      }
      if (best === Infinity) break;
      const next: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (word[i] === first && i < word.length - 1 && word[i + 1] === second) {
          next.push(first + second);
          i += 2;
        } else {
          next.push(word[i]!);
          i += 1;
        }
      }
      word = next;
    }
    this.cache.set(token, word);
    return word;
  }

  /** BPE ids of a text, without start/end tokens and untruncated (OpenAI `SimpleTokenizer.encode`). */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const m of clipNormalizeText(text).matchAll(SPLIT)) {
      let mapped = "";
      for (const b of utf8.encode(m[0])) mapped += BYTE_ENCODER[b];
      for (const piece of this.bpe(mapped)) {
        const id = this.encoder.get(piece);
        if (id === undefined) {
          throw new FileFormatError(this.source, `BPE symbol ${JSON.stringify(piece)} is not in the vocabulary; vocab.json and merges.txt do not match`);
        }
        ids.push(id);
      }
    }
    return ids;
  }

  /**
   * OpenAI `clip.tokenize(texts, context_length, truncate=True)`: [SOT] + ids + [EOT], cut to
   * `contextLength` with EOT forced into the last position, zero padded. Row-major [n, contextLength].
   */
  tokenize(texts: string[], contextLength = 77): Int32Array {
    if (!Number.isInteger(contextLength) || contextLength < 2) {
      throw new InvalidArgumentError(`contextLength must be an integer >= 2 (room for SOT and EOT), got ${contextLength}`);
    }
    const out = new Int32Array(texts.length * contextLength);
    texts.forEach((text, row) => {
      const ids = [this.sotId, ...this.encode(text), this.eotId];
      if (ids.length > contextLength) {
        ids.length = contextLength;
        ids[contextLength - 1] = this.eotId;
      }
      out.set(ids, row * contextLength);
    });
    return out;
  }
}
