/**
 * The memory gallery M_l of paper Sec. 3.3 (Eq. 7): per hooked layer l, the patch features of the k
 * normal reference images of one class, searched for each query patch's nearest neighbour.
 *
 * Peer convention (authors' `memory_gallery.py`, as APRIL-GAN): the stored features are the raw
 * residual-stream patch tokens of the hooked blocks (class token dropped, no ln_post, no adapter),
 * i.e. exactly the cached `ImageFeatures.patchTokens`; the k images' patches are concatenated.
 */
import { InvalidArgumentError, ShapeError } from "../../errors.js";
import { transposeArray } from "../common/features.js";
import type { ImageFeatures } from "../common/types.js";
import { nearestNeighbours, normalizeRowsArray, type NeighbourResult } from "./nearest-neighbour.js";

interface LayerMemory {
  /** [m, W] raw tokens, m = k * P (image-major, as torch.cat over the k images). */
  tokens: Float32Array;
  /** [W, m] L2-normalised columns: the right operand of the cosine MatMul. */
  normalizedT: Float32Array;
}

export class MemoryGallery {
  private constructor(
    readonly layers: number[],
    readonly width: number,
    readonly grid: number,
    /** Number of reference images k. */
    readonly images: number,
    private readonly memory: Map<number, LayerMemory>,
  ) {}

  /** Gallery of the given layers from k >= 1 normal images' cached features (all of one backbone and size). */
  static build(normals: ImageFeatures[], layers: number[]): MemoryGallery {
    const first = normals[0];
    if (!first) throw new InvalidArgumentError("memory gallery: no reference images; few-shot needs k >= 1 normal images of the class");
    if (layers.length === 0) throw new InvalidArgumentError("memory gallery: no layers given");
    const { grid, width } = first;
    const P = grid * grid;
    const memory = new Map<number, LayerMemory>();
    for (const layer of layers) {
      const tokens = new Float32Array(normals.length * P * width);
      normals.forEach((f, i) => {
        if (f.grid !== grid || f.width !== width) {
          throw new ShapeError(
            `memory gallery: reference image ${i} has a ${f.grid}x${f.grid} grid of width ${f.width}, image 0 has ${grid}x${grid} of width ${width} (all references must come from one backbone and size)`,
          );
        }
        const t = f.patchTokens.get(layer);
        if (!t)
          throw new ShapeError(
            `memory gallery: reference image ${i} has no layer ${layer} (it holds ${[...f.patchTokens.keys()].join(", ")}): rebuild the cache with this layer`,
          );
        if (t.length !== P * width)
          throw new ShapeError(`memory gallery: layer ${layer} of reference image ${i} has ${t.length} values, expected ${P} x ${width}`);
        tokens.set(t, i * P * width);
      });
      const m = normals.length * P;
      const normalizedT = transposeArray(normalizeRowsArray(tokens, m, width, `memory layer ${layer}`), m, width);
      memory.set(layer, { tokens, normalizedT });
    }
    return new MemoryGallery([...layers], width, grid, normals.length, memory);
  }

  /** Number of memory features per layer (k * P). */
  get size(): number {
    return this.images * this.grid * this.grid;
  }

  /** Raw memory tokens of a layer [size, W] (what the adapters see in the prior-aware step). */
  tokens(layer: number): Float32Array {
    return this.layer(layer).tokens;
  }

  /** Nearest memory feature (cosine) of each of the `rows` raw query tokens [rows, W] of `layer`. */
  async search(layer: number, query: Float32Array, rows: number): Promise<NeighbourResult> {
    const mem = this.layer(layer);
    const q = normalizeRowsArray(query, rows, this.width, `query layer ${layer}`);
    return nearestNeighbours(q, rows, mem.normalizedT, this.size, this.width);
  }

  private layer(layer: number): LayerMemory {
    const mem = this.memory.get(layer);
    if (!mem) throw new InvalidArgumentError(`memory gallery has layers ${this.layers.join(", ")}, not ${layer}`);
    return mem;
  }
}
