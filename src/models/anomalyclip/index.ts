export { createAnomalyClip } from "./create.js";
export { readReleasedAnomalyClip, releasedAnomalyClipFile } from "./released-checkpoint.js";
