/** Checked element access for tests: an index outside the array fails the test instead of yielding undefined. */
import assert from "node:assert/strict";

export function at<T>(xs: ArrayLike<T>, i: number): T {
  if (!(Number.isInteger(i) && i >= 0 && i < xs.length)) assert.fail(`index ${i} outside an array of ${xs.length}`);
  return xs[i] as T;
}
