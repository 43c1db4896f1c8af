/**
 * Weights of PatchCore's backbone in torchvision naming (`conv1.weight`, `bn1.running_var`,
 * `layer2.0.downsample.0.weight`, ...): read from a `.pth` state dict as torchvision (or timm, whose
 * ResNets use the same names) saves it, or from safetensors; and random weights of the real
 * wide_resnet50_2 shape for tests, benchmarks and the no-download demo, always flagged as random.
 *
 * The random weights come from a counter-based generator (a 32-bit integer hash of the tensor name,
 * the seed and the element index: no sequential state), so that a few lines of numpy give the same
 * numbers: test/fixtures/wide-resnet/make_fixtures.py rebuilds them, loads them into torchvision's own
 * `wide_resnet50_2` and records its outputs, and no weights need to be committed.
 *   key(name, seed) = lowbias32(fnv1a32(name) ^ lowbias32(seed))
 *   u_i = (lowbias32(lowbias32(i) ^ key) + 0.5) / 2^32                       in (0, 1)
 *   normal pair: sqrt(-2 ln u_2j) * (cos, sin)(2 pi u_2j+1)                   (Box-Muller)
 * Initialisation as torchvision's ResNet: convolutions kaiming_normal_(mode="fan_out", relu), i.e.
 * N(0, 2 / (C_out k^2)); BatchNorm weight 1, bias 0, running mean 0, variance 1. `batchNorm: "random"`
 * (the tests) draws non-trivial BatchNorm parameters and statistics instead: weight U(0.5, 1.5),
 * bias and running mean U(-0.1, 0.1), running variance U(1.5, 2.5).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { InvalidArgumentError, MissingFileError } from "../../errors.js";
import { statOrUndefined } from "../../fs-stat.js";
import { readSafetensorsHeader, readSafetensorsWithMetadata, writeSafetensors } from "../../clip/safetensors.js";
import { readTorchCheckpoint, torchStateDict } from "../../clip/torch-checkpoint.js";
import type { WeightTensor } from "../../clip/weights.js";

export type ResNetWeights = Map<string, WeightTensor>;

/** torchvision's `wide_resnet50_2`: Bottleneck blocks [3, 4, 6, 3], width_per_group 128. */
export const WIDE_RESNET50_2 = { name: "wide_resnet50_2", blocks: [3, 4, 6, 3], widthPerGroup: 128, expansion: 4, stemWidth: 64 } as const;

/** Name -> shape of wide_resnet50_2's float tensors up to stage `maxStage` (1..4), in torchvision's state-dict order. */
export function wideResNetShapes(maxStage = 3): Map<string, number[]> {
  if (!(Number.isInteger(maxStage) && maxStage >= 1 && maxStage <= 4)) throw new InvalidArgumentError(`wide_resnet50_2 has stages 1..4; got ${maxStage}`);
  const a = WIDE_RESNET50_2;
  const shapes = new Map<string, number[]>();
  const bn = (p: string, c: number) => {
    for (const t of ["weight", "bias", "running_mean", "running_var"]) shapes.set(`${p}.${t}`, [c]);
  };
  shapes.set("conv1.weight", [a.stemWidth, 3, 7, 7]);
  bn("bn1", a.stemWidth);
  let inplanes: number = a.stemWidth;
  for (let s = 1; s <= maxStage; s++) {
    const planes = 64 * 2 ** (s - 1);
    const width = (planes * a.widthPerGroup) / 64;
    const out = planes * a.expansion;
    for (let b = 0; b < a.blocks[s - 1]!; b++) {
      const p = `layer${s}.${b}`;
      shapes.set(`${p}.conv1.weight`, [width, inplanes, 1, 1]);
      bn(`${p}.bn1`, width);
      shapes.set(`${p}.conv2.weight`, [width, width, 3, 3]);
      bn(`${p}.bn2`, width);
      shapes.set(`${p}.conv3.weight`, [out, width, 1, 1]);
      bn(`${p}.bn3`, out);
      if (b === 0) {
        shapes.set(`${p}.downsample.0.weight`, [out, inplanes, 1, 1]);
        bn(`${p}.downsample.1`, out);
      }
      inplanes = out;
    }
  }
  return shapes;
}

function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(s)) h = Math.imul(h ^ byte, 0x01000193);
  return h >>> 0;
}

/** The counter-based uniforms of tensor `name`: u_i for i = 0..n-1 (float64 values in (0, 1)). */
export function counterUniforms(name: string, seed: number, n: number): Float64Array {
  const key = lowbias32(fnv1a32(name) ^ lowbias32(seed >>> 0));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (lowbias32(lowbias32(i) ^ key) + 0.5) / 4294967296;
  return out;
}

function fillNormal(name: string, seed: number, out: Float32Array, std: number): void {
  const n = out.length;
  const u = counterUniforms(name, seed, n + (n & 1));
  for (let j = 0; 2 * j < n; j++) {
    const r = Math.sqrt(-2 * Math.log(u[2 * j]!));
    const t = 2 * Math.PI * u[2 * j + 1]!;
    out[2 * j] = r * Math.cos(t) * std;
    if (2 * j + 1 < n) out[2 * j + 1] = r * Math.sin(t) * std;
  }
}

function fillAffine(name: string, seed: number, out: Float32Array, offset: number, scale: number): void {
  const u = counterUniforms(name, seed, out.length);
  for (let i = 0; i < out.length; i++) out[i] = offset + scale * u[i]!;
}

export interface RandomResNetOptions {
  seed: number;
  /** Last stage to generate (default 3: PatchCore reads layers 2 and 3). */
  maxStage?: number;
  /** "identity" (torchvision's initial BatchNorm, default) or "random" (non-trivial statistics, for tests). */
  batchNorm?: "identity" | "random";
}

/** Random wide_resnet50_2 weights (torchvision names), deterministic in the seed; see the header for the scheme. */
export function randomWideResNetWeights(opts: RandomResNetOptions): ResNetWeights {
  if (!Number.isSafeInteger(opts.seed)) throw new InvalidArgumentError(`seed must be an integer, got ${opts.seed}`);
  const randomBn = (opts.batchNorm ?? "identity") === "random";
  const out: ResNetWeights = new Map();
  for (const [name, shape] of wideResNetShapes(opts.maxStage ?? 3)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (shape.length === 4) fillNormal(name, opts.seed, data, Math.sqrt(2 / (shape[0]! * shape[2]! * shape[3]!)));
    else if (!randomBn) data.fill(name.endsWith(".weight") || name.endsWith(".running_var") ? 1 : 0);
    else if (name.endsWith(".weight")) fillAffine(name, opts.seed, data, 0.5, 1);
    else if (name.endsWith(".running_var")) fillAffine(name, opts.seed, data, 1.5, 1);
    else fillAffine(name, opts.seed, data, -0.1, 0.2);
    out.set(name, { data, shape });
  }
  return out;
}

/** What `safetensors` metadata key marks a random file, and what it says. */
export const RANDOM_WEIGHTS_METADATA_KEY = "simclip_demo";

export interface LoadedResNetWeights {
  weights: ResNetWeights;
  /** The file read (a directory resolves to its model.safetensors). */
  file: string;
  /** sha256 of the file's bytes: the backbone's fingerprint. */
  sha256: string;
  /** The file says it holds random weights (written by `writeRandomWideResNet`). */
  random: boolean;
}

async function fileSha256(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** The file behind a weights path: a file as is, a directory's model.safetensors. */
export async function resolveResNetWeightsFile(p: string): Promise<string> {
  const st = await statOrUndefined(p);
  if (!st)
    throw new MissingFileError(
      p,
      "ResNet weights not found: expected a .pth state dict (torchvision's wide_resnet50_2-95faca4d.pth), a .safetensors file, or a directory holding model.safetensors",
    );
  if (!st.isDirectory()) return p;
  const f = path.join(p, "model.safetensors");
  if (!(await statOrUndefined(f)))
    throw new MissingFileError(f, "the weights directory has no model.safetensors (simclip demo-model --arch wide_resnet50_2 writes one)");
  return f;
}

/**
 * Reads a torchvision-named ResNet state dict: safetensors (by extension or directory) or a torch.save
 * file (.pth/.pt/.bin/anything else), whose int64 `num_batches_tracked` buffers are dropped.
 */
export async function loadResNetWeights(p: string): Promise<LoadedResNetWeights> {
  const file = await resolveResNetWeightsFile(p);
  if (file.endsWith(".safetensors")) {
    const { tensors, metadata, sha256 } = await readSafetensorsWithMetadata(file, { sha256: true });
    return { weights: tensors, file, sha256: sha256!, random: isRandomMetadata(metadata) };
  }
  const root = await readTorchCheckpoint(file);
  const weights = torchStateDict(root, file, undefined, { skipIntegerTensors: true });
  return { weights, file, sha256: await fileSha256(file), random: false };
}

function isRandomMetadata(metadata: Record<string, string>): boolean {
  const raw = metadata[RANDOM_WEIGHTS_METADATA_KEY];
  if (raw === undefined) return false;
  try {
    return (JSON.parse(raw) as { random?: unknown }).random === true;
  } catch {
    return false;
  }
}

/** The fingerprint and random flag of a weights path without reading the tensors (hashes the file). */
export async function describeResNetWeights(p: string): Promise<{ file: string; sha256: string; random: boolean }> {
  const file = await resolveResNetWeightsFile(p);
  let random = false;
  if (file.endsWith(".safetensors")) {
    random = isRandomMetadata((await readSafetensorsHeader(file)).metadata);
  }
  return { file, sha256: await fileSha256(file), random };
}

/**
 * `simclip demo-model --arch wide_resnet50_2`: random wide_resnet50_2 weights up to layer3 (what
 * PatchCore reads) as `dir/model.safetensors`, marked random in the safetensors metadata.
 */
export async function writeRandomWideResNet(dir: string, opts: { seed: number; dtype?: "F32" | "F16" }): Promise<{ file: string }> {
  const weights = randomWideResNetWeights({ seed: opts.seed, maxStage: 3 });
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, "model.safetensors");
  const meta = {
    arch: WIDE_RESNET50_2.name,
    seed: opts.seed,
    random: true,
    stages: "conv1, bn1, layer1-3 (no layer4, no fc)",
    generator: "simclip counter-lowbias32/1",
  };
  await writeSafetensors(file, weights, { format: "pt", [RANDOM_WEIGHTS_METADATA_KEY]: JSON.stringify(meta) }, { dtype: opts.dtype ?? "F32" });
  return { file };
}
