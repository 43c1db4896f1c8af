export { ClipAc, CLIP_AC_METHOD, type ClipAcConfig } from "./model.js";
