import type { MethodDescriptor } from "../common/method.js";
import { createPromptLearnerMethod } from "../coop/method.js";

export const anomalyClipMethod: MethodDescriptor = {
  name: "anomalyclip",
  label: "AnomalyCLIP",
  auxiliaryTrained: true,
  table1Roles: ["zero-shot"],
  create: createPromptLearnerMethod("anomalyclip"),
};
