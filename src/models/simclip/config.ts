/**
 * SimCLIP's configuration: the defaults follow the authors' released code (docs/simclip.md,
 * "What we follow, and the switches"); where the paper says otherwise the alternative is a switch, named for the paper.
 * Saved with every checkpoint and compared on load.
 */
import { InvalidArgumentError } from "../../errors.js";
import type { PromptClassNames } from "../common/prompts.js";
import { DEFAULT_INPUT_SIZE } from "../components/geometry.js";

export interface SimClipConfig {
  /** 1-based hooked vision blocks (paper: L = {6, 12, 18, 24} for ViT-L/14). Any subset (Table 5 ablation). */
  layers: number[];
  /** Input size S; maps are S x S (authors: 518 for ViT-L/14-336, a 37 x 37 grid). */
  size: number;
  /** MHVA (Eq. 2) on; off = Table 3's baseline: patch tokens through CLIP's own fixed ln_post + visual.proj. */
  mhva: boolean;
  /** IPT (Eqs. 4-5) on; off = plain prompt embeddings (x_eot @ trainable text projection). */
  ipt: boolean;
  /** Length of the small learnable P_s (authors: 1 x 8). */
  iptSeedDim: number;
  /** Hidden width of the MLP producing P from P_s (authors: 256). */
  iptHidden: number;
  /**
   * Authors' code adds IPT's output to the EOT-token feature (true); the paper's Eq. 5 writes the
   * refined prompt as FFN([T^T W, P]) alone (false).
   */
  iptEotResidual: boolean;
  /**
   * The paper's "w in [0, 1]": clamp IPT's token weighting and mixing weights into [0, 1] after every
   * step (true). The released code initialises them U[0, 1] and never constrains them (false, default).
   */
  iptClamp: boolean;
  /**
   * Prompts the image score compares the global image feature with. "plain" (authors' code): the
   * unrefined x_eot @ text projection. "refined" (paper Sec. 3.2: "the class token and the refined
   * binary prompt"): IPT's output.
   */
  imagePrompts: "plain" | "refined";
  /** Class names in the prompts: "raw" folder names (released code, "metal_nut") or "spaces" ("metal nut"). */
  classNames: PromptClassNames;
  /** Logit scale of every cosine (authors: a fixed 100, not CLIP's learned logit_scale). */
  logitScale: number;
  /** Test-time Gaussian smoothing sigma of the summed map (authors: 7); 0 turns it off. */
  sigma: number;
  /** Loss = ceWeight * CE + segWeight * sum over layers (focal + dice); authors: 1.3 and 0.08. */
  ceWeight: number;
  segWeight: number;
}

export const SIMCLIP_DEFAULTS: SimClipConfig = {
  layers: [6, 12, 18, 24],
  size: DEFAULT_INPUT_SIZE,
  mhva: true,
  ipt: true,
  iptSeedDim: 8,
  iptHidden: 256,
  iptEotResidual: true,
  iptClamp: false,
  imagePrompts: "plain",
  classNames: "raw",
  logitScale: 100,
  sigma: 7,
  ceWeight: 1.3,
  segWeight: 0.08,
};

/** Dimensions taken from the backbone; saved with the config so a checkpoint is checked against its backbone. */
export interface SimClipDims {
  visionWidth: number;
  textWidth: number;
  embedDim: number;
  contextLength: number;
  patchSize: number;
  visionLayers: number;
}

export function resolveSimClipConfig(partial: Partial<SimClipConfig>, dims: SimClipDims): SimClipConfig {
  const c: SimClipConfig = { ...SIMCLIP_DEFAULTS, ...partial, layers: [...(partial.layers ?? SIMCLIP_DEFAULTS.layers)] };
  if (c.layers.length === 0) throw new InvalidArgumentError("SimCLIP: `layers` is empty; give at least one 1-based vision block, e.g. [6, 12, 18, 24]");
  for (const l of c.layers) {
    if (!Number.isInteger(l) || l < 1 || l > dims.visionLayers) {
      throw new InvalidArgumentError(`SimCLIP: layer ${l} is not a block of this backbone (1..${dims.visionLayers}); e.g. --layers 6,12,18,24 for ViT-L/14`);
    }
  }
  if (new Set(c.layers).size !== c.layers.length) throw new InvalidArgumentError(`SimCLIP: duplicate layers in ${c.layers.join(",")}`);
  if (!Number.isInteger(c.size) || c.size <= 0 || c.size % dims.patchSize !== 0) {
    throw new InvalidArgumentError(`SimCLIP: size ${c.size} must be a positive multiple of the patch size ${dims.patchSize} (e.g. 518 for ViT-L/14)`);
  }
  if (c.classNames !== "raw" && c.classNames !== "spaces") {
    throw new InvalidArgumentError(`SimCLIP: classNames must be "raw" (released code) or "spaces", got ${JSON.stringify(c.classNames)}`);
  }
  if (!(c.sigma >= 0)) throw new InvalidArgumentError(`SimCLIP: sigma must be >= 0, got ${c.sigma}`);
  return c;
}
