/**
 * The released `LinearLayer` (APRIL-GAN's `model.py`, reused by SimCLIP as its vision adapter): one
 * `nn.Linear(W -> E)` per hooked layer, saved as `{'trainable_linearlayer': {'fc.<i>.weight' [E, W],
 * 'fc.<i>.bias' [E]}}`, module i serving the i-th hooked layer. Here it becomes the MHVA's variables
 * (`mhva.<layer>.weight` [W, E], `mhva.<layer>.bias`).
 */
import type { WeightTensor } from "../../clip/weights.js";
import { FileFormatError } from "../../errors.js";
import { CheckpointMismatchError } from "../common/checkpoint.js";
import type { MethodState } from "../common/types.js";

/** The key `torch.save` stores the LinearLayer's state dict under. */
export const RELEASED_LINEAR_LAYER_KEY = "trainable_linearlayer";

/** [rows, cols] -> [cols, rows] (PyTorch Linear weights [out, in] to our [in, out]). */
export function transposed(t: WeightTensor): WeightTensor {
  const [r, c] = [t.shape[0]!, t.shape[1]!];
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j]!;
  return { data: out, shape: [c, r] };
}

/** The number of modules fc.0..fc.(n-1); any other key, or a gap, is not the released LinearLayer. */
export function releasedLinearLayerCount(state: Map<string, WeightTensor>, where: string): number {
  const n = [...state.keys()].filter((k) => /^fc\.\d+\.weight$/.test(k)).length;
  const expected = new Set(Array.from({ length: n }, (_, i) => [`fc.${i}.weight`, `fc.${i}.bias`]).flat());
  const unexpected = [...state.keys()].filter((k) => !expected.has(k));
  if (n === 0 || unexpected.length > 0 || state.size !== expected.size) {
    const missing = [...expected].filter((k) => !state.has(k));
    throw new FileFormatError(
      where,
      `expected the released LinearLayer's tensors fc.<i>.weight and fc.<i>.bias for i = 0..n-1, found ${[...state.keys()].slice(0, 8).join(", ") || "none"}` +
        (missing.length > 0 ? `; missing ${missing.join(", ")}` : ""),
    );
  }
  return n;
}

/**
 * The MHVA tensors of the released LinearLayer, module i on `layers[i]`. `dims` (when given): the
 * backbone's [width W, embed dim E] the modules must map between.
 */
export function releasedLinearLayerTensors(
  state: Map<string, WeightTensor>,
  layers: number[],
  where: string,
  dims?: { width: number; embedDim: number },
): MethodState["tensors"] {
  const count = releasedLinearLayerCount(state, where);
  if (layers.length !== count) {
    throw new CheckpointMismatchError(
      where,
      `it has ${count} adapters (fc.0..fc.${count - 1}) but ${layers.length} hooked layers were given (${layers.join(",")}): pass --layers with ${count} blocks`,
    );
  }
  const tensors: MethodState["tensors"] = new Map();
  layers.forEach((layer, i) => {
    const w = state.get(`fc.${i}.weight`)!;
    const b = state.get(`fc.${i}.bias`)!;
    if (w.shape.length !== 2 || b.shape.length !== 1 || b.shape[0] !== w.shape[0]) {
      throw new FileFormatError(where, `fc.${i}.weight has shape [${w.shape}] and fc.${i}.bias [${b.shape}], expected [E, W] and [E]`);
    }
    if (dims && (w.shape[0] !== dims.embedDim || w.shape[1] !== dims.width)) {
      throw new CheckpointMismatchError(
        where,
        `fc.${i}.weight has shape [${w.shape}], the --model needs [${dims.embedDim}, ${dims.width}] (embed dim x width): pass the CLIP the checkpoint was trained on`,
      );
    }
    tensors.set(`mhva.${layer}.weight`, transposed(w));
    tensors.set(`mhva.${layer}.bias`, b);
  });
  return tensors;
}
