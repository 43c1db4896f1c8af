/** How the registry's methods appear in the paper's tables, and which of them train on the auxiliary dataset. */

export const PAPER_METHOD_LABEL: Record<string, string> = {
  "clip-ac": "CLIP-AC",
  "april-gan": "APRIL-GAN",
  anomalyclip: "AnomalyCLIP",
  simclip: "SimCLIP",
  "simclip+": "SimCLIP+",
  patchcore: "PatchCore",
  coop: "CoOp",
  cocoop: "Co-CoOp",
};

/** Zero-shot methods that learn on the other dataset's test split (CLIP-AC uses CLIP as it is). */
export const AUXILIARY_TRAINED_METHODS = new Set(["april-gan", "anomalyclip", "simclip", "coop", "cocoop"]);

/** Table 1's rows, in the paper's order: zero-shot, then the few-shot ones. */
export const TABLE1_ZERO_SHOT = ["clip-ac", "april-gan", "anomalyclip", "simclip"] as const;
export const TABLE1_FEW_SHOT = ["patchcore", "april-gan", "simclip+"] as const;
