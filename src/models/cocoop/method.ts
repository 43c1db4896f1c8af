import type { MethodDescriptor } from "../common/method.js";
import { createPromptLearnerMethod } from "../coop/method.js";

export const cocoopMethod: MethodDescriptor = { name: "cocoop", label: "Co-CoOp", auxiliaryTrained: true, create: createPromptLearnerMethod("cocoop") };
