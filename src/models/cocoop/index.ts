export { createCoCoOp } from "./create.js";
