export { createAnomalyClip } from "./create.js";
