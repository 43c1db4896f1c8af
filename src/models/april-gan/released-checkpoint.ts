/**
 * The APRIL-GAN authors' checkpoints (their `train.py`: `torch.save({'trainable_linearlayer':
 * state_dict}, 'epoch_<n>.pth')`; the shipped `visa_pretrained.pth` and `mvtec_pretrained.pth`): a
 * `.pth` file, or a directory holding exactly one. Only the linear layers are in it; the backbone is
 * the frozen CLIP, so the input size and hooked layers come from the command (default 518 px on
 * blocks 6, 12, 18, 24 of ViT-L/14, as the authors trained them) and the backbone is checked by the
 * modules' shapes alone.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { readTorchCheckpoint, torchStateDict } from "../../clip/torch-checkpoint.js";
import { InvalidArgumentError, MissingFileError } from "../../errors.js";
import { statOrUndefined } from "../../fs-stat.js";
import type { ReleasedCheckpointFormat, ReleasedCheckpointFiles } from "../common/released-checkpoint.js";
import { quarterLayers } from "../components/geometry.js";
import { RELEASED_LINEAR_LAYER_KEY, releasedLinearLayerCount, releasedLinearLayerTensors } from "../components/released-linear-layer.js";
import { APRIL_GAN_METHOD, APRIL_GAN_LOGIT_SCALE, type AprilGanConfig } from "./model.js";

const PTH = ".pth";

async function pthFilesIn(dir: string): Promise<string[]> {
  return (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && e.name.endsWith(PTH))
    .map((e) => path.join(dir, e.name))
    .sort();
}

/** The `.pth` file `location` names: itself, or the only one in the directory. */
export async function releasedAprilGanFile(location: string): Promise<string> {
  const info = await statOrUndefined(location);
  if (!info)
    throw new MissingFileError(location, `no such file or directory; expected the APRIL-GAN authors' checkpoint (a ${PTH} file, or a directory holding one)`);
  if (info.isFile()) return location;
  const files = await pthFilesIn(location);
  if (files.length === 0) throw new MissingFileError(location, `no ${PTH} file in this directory; expected the APRIL-GAN authors' checkpoint`);
  if (files.length > 1) {
    throw new InvalidArgumentError(
      `${location} holds ${files.length} ${PTH} files (${files.map((f) => path.basename(f)).join(", ")}): pass the one to load as --checkpoint FILE${PTH}`,
    );
  }
  return files[0]!;
}

/** The linear layers of the released file, ready to become our checkpoint on a backbone. */
export async function readReleasedAprilGan(location: string): Promise<ReleasedCheckpointFiles> {
  const file = await releasedAprilGanFile(location);
  const state = torchStateDict(await readTorchCheckpoint(file), file, RELEASED_LINEAR_LAYER_KEY);
  releasedLinearLayerCount(state, file);
  return {
    checkpoint: (backbone, size, layers) => {
      const hooked = layers ?? quarterLayers(backbone.config);
      const { width } = backbone.config.vision;
      const tensors = releasedLinearLayerTensors(state, hooked, file, { width, embedDim: backbone.config.embedDim });
      const aprilGan: AprilGanConfig = { size, layers: hooked, logitScale: APRIL_GAN_LOGIT_SCALE };
      return {
        dir: file,
        backboneFingerprint: backbone.fingerprint,
        state: { method: APRIL_GAN_METHOD, config: { aprilGan, backbone: backbone.fingerprint }, tensors },
      };
    },
  };
}

export const releasedAprilGanFormat: ReleasedCheckpointFormat = {
  description: `the APRIL-GAN authors' {'${RELEASED_LINEAR_LAYER_KEY}': ...} ${PTH} file (or a directory holding one)`,
  holds: async (location) => {
    const info = await statOrUndefined(location);
    if (info?.isFile()) return location.endsWith(PTH);
    return info?.isDirectory() ? (await pthFilesIn(location)).length > 0 : false;
  },
  read: readReleasedAprilGan,
};
