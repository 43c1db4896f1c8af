/** One entry point for every layout, as used by the CLI and notebooks: "<layout>:<root>". */
import { InvalidArgumentError } from "../errors.js";
import { loadCustom } from "./custom.js";
import { loadMetaJson } from "./meta-json.js";
import { loadMvtec } from "./mvtec.js";
import type { Dataset, DatasetLoadOptions } from "./sample.js";
import { loadVisa } from "./visa.js";

const loaders = { mvtec: loadMvtec, visa: loadVisa, custom: loadCustom, meta: loadMetaJson } as const;

/** `spec` is "mvtec:ROOT", "visa:ROOT", "custom:ROOT" or "meta:ROOT" (a root holding a peers' meta.json). */
export async function loadDataset(spec: string, opts: DatasetLoadOptions = {}): Promise<Dataset> {
  const i = spec.indexOf(":");
  const layout = i < 0 ? "" : spec.slice(0, i);
  const root = i < 0 ? "" : spec.slice(i + 1);
  if (!(layout in loaders) || root === "") {
    throw new InvalidArgumentError(
      `dataset spec "${spec}" is not <layout>:<root> with layout one of ${Object.keys(loaders).join(", ")} (e.g. "mvtec:/data/mvtec_anomaly_detection")`,
    );
  }
  return loaders[layout as keyof typeof loaders](root, opts);
}
