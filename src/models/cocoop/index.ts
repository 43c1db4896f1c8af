export { CoCoOpMetaNet } from "./meta-net.js";
export { createCoCoOp } from "./create.js";
