/**
 * Every method, once: each folder declares itself in its `method.ts` (name, table label, factory,
 * options, role in the experiments); the registry (`registry.ts`) and the experiments read this list.
 * The order is the paper's (Table 1's rows: zero-shot CLIP-AC, APRIL-GAN, AnomalyCLIP, SimCLIP; few-shot
 * PatchCore, APRIL-GAN, SimCLIP+). Factories load their modules lazily: nothing is loaded that is not used.
 */
import type { MethodDescriptor } from "./common/method.js";
import { clipAcMethod } from "./clip-ac/method.js";
import { patchCoreMethod } from "./patchcore/method.js";
import { aprilGanMethod } from "./april-gan/method.js";
import { anomalyClipMethod } from "./anomalyclip/method.js";
import { simClipMethod } from "./simclip/method.js";
import { simClipPlusMethod } from "./simclip-plus/method.js";
import { coopMethod } from "./coop/method.js";
import { cocoopMethod } from "./cocoop/method.js";

export const METHODS: readonly MethodDescriptor[] = [
  clipAcMethod,
  patchCoreMethod,
  aprilGanMethod,
  anomalyClipMethod,
  simClipMethod,
  simClipPlusMethod,
  coopMethod,
  cocoopMethod,
];
