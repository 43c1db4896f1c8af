/** MVTec-AD (Bergmann et al., CVPR 2019) in its distributed folder layout; see folder-layout.ts. */
import { loadFolderLayout } from "./folder-layout.js";
import type { Dataset, DatasetLoadOptions } from "./sample.js";

export function loadMvtec(root: string, opts: DatasetLoadOptions = {}): Promise<Dataset> {
  return loadFolderLayout(root, opts, { name: "mvtec", imageExtensions: [".png"], trainRequired: true, masksRequired: true });
}
