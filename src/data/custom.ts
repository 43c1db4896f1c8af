/**
 * Users' own data in an MVTec-like layout (documented in docs/datasets.md): any common image format,
 * train/good optional (zero-shot needs none), masks optional per category (no ground_truth/ folder
 * = image-level labels only; pixel metrics are then unavailable for that category).
 */
import { IMAGE_EXTENSIONS } from "./files.js";
import { loadFolderLayout } from "./folder-layout.js";
import type { Dataset, DatasetLoadOptions } from "./sample.js";

export function loadCustom(root: string, opts: DatasetLoadOptions = {}): Promise<Dataset> {
  return loadFolderLayout(root, opts, {
    name: "custom",
    imageExtensions: IMAGE_EXTENSIONS,
    trainRequired: false,
    masksRequired: false,
  });
}
