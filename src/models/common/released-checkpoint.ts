/**
 * Checkpoints in an author's released format (PyTorch `.pth` files), read without Python and turned
 * into our checkpoint state, so that every command taking `--checkpoint` runs them. A method whose
 * authors released checkpoints names its format in its descriptor (`MethodDescriptor.releasedCheckpoint`).
 */
import type { ClipConfig } from "../../clip/config.js";
import type { ClipWeights } from "../../clip/weights.js";
import type { LoadedCheckpoint } from "./checkpoint.js";

/** What the backbone must provide to take a released checkpoint. */
export interface ReleasedBackbone {
  readonly config: ClipConfig;
  readonly weights: ClipWeights;
  readonly fingerprint: string;
  /** CLIP's tokenizer (a released prompt learner's token buffers are checked against it). */
  readonly tokenizer: { tokenize(texts: string[], contextLength?: number): Int32Array };
}

/** A released checkpoint, read and checked for its own consistency. */
export interface ReleasedCheckpointFiles {
  /** The input size its tensors fix (SimCLIP: its resized positional embedding), when they fix one. */
  readonly size?: number;
  /**
   * Our checkpoint on `backbone` at input size `size`, checked against the backbone; `layers`: the
   * hooked blocks, one per trained module in order (default: the method's).
   */
  checkpoint(backbone: ReleasedBackbone, size: number, layers?: number[]): LoadedCheckpoint;
}

export interface ReleasedCheckpointFormat {
  /** The files, for messages: e.g. "the authors' clip.pth + visionAdapter.pth". */
  readonly description: string;
  /** True when `location` (a file or a directory) holds a checkpoint of this format. */
  holds(location: string): Promise<boolean>;
  read(location: string): Promise<ReleasedCheckpointFiles>;
}
