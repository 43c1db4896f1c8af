/**
 * PatchCore's WideResNet-50-2 features as a feature-cache source: anomalib's pre-processing, the
 * backbone graph (wide-resnet.ts) on onnxruntime, and the patch embedding (layer2 + layer3, pooled,
 * resized, concatenated) computed inside the graph.
 *
 * The cache keeps one section per image, `WRN_EMBEDDING_SECTION` (= 1): the embedding [P, D] at the
 * first requested stage's grid (256 px, layers 2 + 3: 32 x 32 patches of 512 + 1024 channels), so the
 * cache's one-grid-one-width entries hold it as they hold a CLIP layer; `pooled` is its mean over the
 * patches (unused by PatchCore). The source id names the weights' sha256 (or the random generator and
 * seed), the pre-processing, the size, the stages and the embedding.
 */
import { featureSourceId, type FeatureSourceInfo, type ImageFeatures } from "../../cache/source.js";
import { createOrtSession, ort, type ExecutionProviderName } from "../../clip/ort-executor.js";
import { InvalidArgumentError, ShapeError } from "../../errors.js";
import { preprocessImagenet } from "./imagenet-preprocess.js";
import { loadResNetWeights, randomWideResNetWeights, WIDE_RESNET50_2, wideResNetShapes, type ResNetWeights } from "./resnet-weights.js";
import { buildResNetGraph, EMBEDDING_OUTPUT, resnetSpec, stageChannels, stageGrids } from "./wide-resnet.js";

export const WRN_EMBEDDING_SECTION = 1;

/** Where the backbone's weights come from: a file (fingerprinted by its sha256) or simclip's random generator. */
export type WideResNetWeightsSource = { kind: "file"; path: string; sha256: string; random: boolean } | { kind: "random"; seed: number };

export function describeWeights(w: WideResNetWeightsSource): string {
  if (w.kind === "random") return `${WIDE_RESNET50_2.name} with RANDOM weights (simclip's generator, seed ${w.seed}; not ImageNet-pretrained)`;
  return `${WIDE_RESNET50_2.name} from ${w.path}${w.random ? " (RANDOM weights: the file is marked as a random demo backbone)" : ""}`;
}

export function weightsAreRandom(w: WideResNetWeightsSource): boolean {
  return w.kind === "random" || w.random;
}

function weightsFingerprint(w: WideResNetWeightsSource): string {
  return w.kind === "random" ? `${WIDE_RESNET50_2.name}:random-counter-lowbias32/1:seed=${w.seed}` : `${WIDE_RESNET50_2.name}:sha256=${w.sha256}`;
}

/** Checks that a state dict is torchvision's wide_resnet50_2 up to `maxStage` (extra tensors, e.g. layer4 and fc, are ignored). */
export function checkWideResNetWeights(weights: ResNetWeights, maxStage: number, where: string): void {
  for (const [name, shape] of wideResNetShapes(maxStage)) {
    const t = weights.get(name);
    if (!t) throw new ShapeError(`${where} is not torchvision's ${WIDE_RESNET50_2.name}: tensor "${name}" is missing`);
    if (t.shape.join(",") !== shape.join(",")) {
      throw new ShapeError(
        `${where} is not torchvision's ${WIDE_RESNET50_2.name}: "${name}" has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}]`,
      );
    }
  }
}

export interface WideResNetSourceOptions {
  weights: WideResNetWeightsSource;
  size: number;
  /** 1-based ResNet stages (anomalib's layer2, layer3 = [2, 3]). */
  layers: number[];
  /** Images per onnxruntime run and per cache write (default 8). */
  batchSize?: number;
  threads?: number;
  executionProvider?: ExecutionProviderName;
}

export interface WideResNetFeatureSource extends FeatureSourceInfo {
  readonly grid: number;
  readonly width: number;
  /** Frees the onnxruntime session (a later `extract` builds it again). */
  release(): Promise<void>;
}

/** Grid and embedding width of the stages at `size`, from wide_resnet50_2's shapes (no weights needed). */
export function wideResNetGeometry(size: number, layers: number[]): { grid: number; width: number } {
  const maxStage = Math.max(...layers);
  const shapes = new Map([...wideResNetShapes(maxStage)].map(([k, s]) => [k, { data: new Float32Array(0), shape: s }]));
  const spec = resnetSpec(shapes, maxStage, WIDE_RESNET50_2.name);
  const grids = stageGrids(spec, size);
  const first = Math.min(...layers);
  if (grids.some((g) => g < 1)) throw new InvalidArgumentError(`PatchCore: size ${size} is too small for ${WIDE_RESNET50_2.name}'s stage ${maxStage}`);
  return { grid: grids[first - 1]!, width: [...new Set(layers)].reduce((a, s) => a + stageChannels(spec, s), 0) };
}

export function wideResNetFeatureSource(opts: WideResNetSourceOptions): WideResNetFeatureSource {
  const layers = [...new Set(opts.layers)].sort((a, b) => a - b);
  const { grid, width } = wideResNetGeometry(opts.size, layers);
  const size = opts.size;
  let session: Promise<ort.InferenceSession> | undefined;
  const open = async (): Promise<ort.InferenceSession> => {
    const maxStage = layers.at(-1)!;
    let weights: ResNetWeights;
    if (opts.weights.kind === "random") weights = randomWideResNetWeights({ seed: opts.weights.seed, maxStage });
    else {
      const loaded = await loadResNetWeights(opts.weights.path);
      if (loaded.sha256 !== opts.weights.sha256) {
        throw new InvalidArgumentError(
          `${loaded.file} changed since PatchCore was set up (sha256 ${loaded.sha256.slice(0, 12)}..., was ${opts.weights.sha256.slice(0, 12)}...): create the method again`,
        );
      }
      weights = loaded.weights;
    }
    checkWideResNetWeights(weights, maxStage, opts.weights.kind === "file" ? opts.weights.path : "the random weights");
    const g = buildResNetGraph(weights, { size, layers }, opts.weights.kind === "file" ? opts.weights.path : WIDE_RESNET50_2.name);
    return createOrtSession(g.bytes, { threads: opts.threads, executionProvider: opts.executionProvider });
  };
  return {
    id: featureSourceId({
      fingerprint: weightsFingerprint(opts.weights),
      preprocessing: "anomalib-rgb-resize-antialias-bilinear-imagenet;embedding=avgpool3+bilinear+concat",
      size,
      layers,
    }),
    layers: [WRN_EMBEDDING_SECTION],
    batchSize: opts.batchSize,
    description: `${describeWeights(opts.weights)}, layers ${layers.join("+")} at ${size} px`,
    random: weightsAreRandom(opts.weights),
    grid,
    width,
    async extract(paths: string[]): Promise<ImageFeatures[]> {
      session ??= open();
      const s = await session;
      const per = 3 * size * size;
      const P = grid * grid;
      const out: ImageFeatures[] = [];
      const batch = opts.batchSize ?? 8;
      for (let i = 0; i < paths.length; i += batch) {
        const chunk = paths.slice(i, i + batch);
        const pixels = new Float32Array(chunk.length * per);
        for (const [j, p] of chunk.entries()) pixels.set(await preprocessImagenet(p, size), j * per);
        const result = await s.run({ pixel_values: new ort.Tensor("float32", pixels, [chunk.length, 3, size, size]) });
        const emb = result[EMBEDDING_OUTPUT]!.data as Float32Array;
        for (let j = 0; j < chunk.length; j++) {
          const rows = emb.slice(j * P * width, (j + 1) * P * width);
          const pooled = new Float32Array(width);
          for (let p = 0; p < P; p++) for (let k = 0; k < width; k++) pooled[k]! += rows[p * width + k]! / P;
          out.push({ patchTokens: new Map([[WRN_EMBEDDING_SECTION, rows]]), pooled, grid, width });
        }
      }
      return out;
    },
    async release() {
      const s = session;
      session = undefined;
      // A session that failed to open has nothing to release (its error went to the extract that opened it).
      const opened = await s?.catch(() => undefined);
      if (opened) await opened.release();
    },
  };
}
