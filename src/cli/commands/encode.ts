/**
 * `simclip encode-image` and `simclip encode-text`: run the CLIP towers on files or strings and write
 * the outputs as JSON, e.g. to check a model against another implementation.
 */
import { readFile, writeFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import { ClipModel } from "../../clip/model.js";
import { nestedJson } from "../../clip/nested-json.js";
import { FileFormatError, InvalidArgumentError, MissingFileError } from "../../errors.js";
import type { ClipActivation } from "../../clip/config.js";
import { activationOption } from "../open-checkpoint.js";

/** CLIP as it was trained unless --activation says otherwise (a feature tool, not a protocol). */
const ENCODE_ACTIVATION = "the weights' own (QuickGELU for OpenAI CLIP)";
const loadFor = (o: { model: string; threads?: number; activation?: ClipActivation }) =>
  ClipModel.load(o.model, { threads: o.threads, ...(o.activation ? { activation: o.activation } : {}) });

const positiveInt = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`--${name} must be a positive integer; got "${v}"`);
  return Number(v);
};

const layerList = (v: string): number[] => {
  const parts = v.split(",").map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new InvalidArgumentError(`--layers must be comma-separated 1-based block indices like 6,12,18,24; got "${v}"`);
  return parts.map(Number);
};

/** Reads `[N][3][R][R]` normalised pixel values; returns them flat with N and R. */
async function readPixelValues(path: string): Promise<{ data: Float32Array; n: number; size: number }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new MissingFileError(path, "--pixel-values file not found; expected JSON [N][3][R][R] of normalised pixel values");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FileFormatError(path, `not valid JSON (${(e as Error).message})`);
  }
  const bad = (what: string) => new FileFormatError(path, `expected [N][3][R][R] numbers (normalised pixel values); ${what}`);
  if (!Array.isArray(json) || json.length === 0) throw bad("found no top-level non-empty list");
  const size = Array.isArray(json[0]) && Array.isArray(json[0][0]) ? (json[0][0] as unknown[]).length : 0;
  if (size === 0) throw bad("could not read R from the first image");
  const per = 3 * size * size;
  const data = new Float32Array(json.length * per);
  json.forEach((img: unknown, i: number) => {
    const flat = Array.isArray(img) ? img.flat(2) : [];
    if (flat.length !== per || !Array.isArray(img) || img.length !== 3 || flat.some((v) => typeof v !== "number"))
      throw bad(`image ${i} is not 3 x ${size} x ${size} numbers`);
    data.set(flat as number[], i * per);
  });
  return { data, n: json.length, size };
}

export function register(program: Command): void {
  program
    .command("encode-image")
    .description(
      "Encode images with the CLIP vision tower; writes {images:[{path, pixel_values [3][R][R], hidden_states {layer: [tokens][width]}, image_embeds [D]}]}. " +
        "Hidden states are the raw residual stream after each 1-based block (class token first, patches row-major).",
    )
    .requiredOption("--model <dir>", "model directory (Hugging Face or OpenAI layout) or Hugging Face model id")
    .requiredOption("--out <file>", "output JSON file")
    .option("--layers <list>", "comma-separated 1-based block indices (default: all blocks)", layerList)
    .option("--ln-post", "apply ln_post to the returned hidden states", false)
    .option("--size <px>", "input side (default: the model's; other sizes interpolate the positional embeddings)", positiveInt("size"))
    .addOption(
      new Option("--transform <name>", "image preprocessing: CLIP's resize + centre crop, or the whole image squashed to a square")
        .choices(["clip", "square"])
        .default("clip"),
    )
    .option("--pixel-values <file>", "JSON [N][3][R][R] of already normalised pixels: skips image decoding")
    .option("--threads <n>", "onnxruntime intra-op threads (default: all cores)", positiveInt("threads"))
    .addOption(activationOption(ENCODE_ACTIVATION))
    .argument("[images...]", "image files")
    .action(
      async (
        images: string[],
        o: {
          model: string;
          out: string;
          layers?: number[];
          lnPost: boolean;
          size?: number;
          transform: "clip" | "square";
          pixelValues?: string;
          threads?: number;
          activation?: ClipActivation;
        },
      ) => {
        if (images.length > 0 === (o.pixelValues !== undefined))
          throw new InvalidArgumentError("give either image files or --pixel-values FILE.json (exactly one of them)");
        const model = await loadFor(o);
        try {
          const layers = o.layers ?? Array.from({ length: model.config.vision.layers }, (_, i) => i + 1);
          let pixels: Float32Array;
          let paths: string[];
          let size: number;
          if (o.pixelValues !== undefined) {
            const pv = await readPixelValues(o.pixelValues);
            if (o.size !== undefined && o.size !== pv.size)
              throw new InvalidArgumentError(`--size ${o.size} disagrees with the ${pv.size} x ${pv.size} images in ${o.pixelValues}`);
            pixels = pv.data;
            size = pv.size;
            paths = Array.from({ length: pv.n }, (_, i) => `${o.pixelValues}[${i}]`);
          } else {
            size = o.size ?? model.config.vision.imageSize;
            pixels = await model.preprocessFiles(images, size, o.transform);
            paths = images;
          }
          const out = await model.encodeImages(pixels, paths.length, { size, layers, lnPost: o.lnPost });
          const { numTokens: t, width: w } = out;
          const e = model.config.embedDim;
          const per = 3 * size * size;
          const entries = paths.map((path, i) => {
            const hidden = [...out.hiddenStates]
              .map(([l, d]) => `${JSON.stringify(String(l))}:${nestedJson(d.subarray(i * t * w, (i + 1) * t * w), [t, w])}`)
              .join(",");
            return (
              `{"path":${JSON.stringify(path)},"pixel_values":${nestedJson(pixels.subarray(i * per, (i + 1) * per), [3, size, size])},` +
              `"hidden_states":{${hidden}},"image_embeds":${nestedJson(out.imageEmbeds.subarray(i * e, (i + 1) * e), [e])}}`
            );
          });
          await writeFile(o.out, `{"images":[${entries.join(",")}]}\n`);
        } finally {
          await model.dispose();
        }
      },
    );

  program
    .command("encode-text")
    .description("Encode texts with the CLIP text tower; writes {texts:[{text, input_ids [77], last_hidden_state [77][W], text_embeds [D]}]}.")
    .requiredOption("--model <dir>", "model directory (Hugging Face or OpenAI layout) or Hugging Face model id")
    .requiredOption("--out <file>", "output JSON file")
    .option("--threads <n>", "onnxruntime intra-op threads (default: all cores)", positiveInt("threads"))
    .addOption(activationOption(ENCODE_ACTIVATION))
    .argument("<texts...>", "texts to encode")
    .action(async (texts: string[], o: { model: string; out: string; threads?: number; activation?: ClipActivation }) => {
      const model = await loadFor(o);
      try {
        const out = await model.encodeText(texts);
        const { contextLength: ctx, width: w } = model.config.text;
        const e = model.config.embedDim;
        const entries = texts.map(
          (text, i) =>
            `{"text":${JSON.stringify(text)},"input_ids":${JSON.stringify(Array.from(out.inputIds.subarray(i * ctx, (i + 1) * ctx)))},` +
            `"last_hidden_state":${nestedJson(out.lastHiddenState.subarray(i * ctx * w, (i + 1) * ctx * w), [ctx, w])},` +
            `"text_embeds":${nestedJson(out.textEmbeds.subarray(i * e, (i + 1) * e), [e])}}`,
        );
        await writeFile(o.out, `{"texts":[${entries.join(",")}]}\n`);
      } finally {
        await model.dispose();
      }
    });
}
