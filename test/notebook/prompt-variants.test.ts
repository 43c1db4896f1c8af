import { test } from "node:test";
import assert from "node:assert/strict";
import { figure5Prompts, promptVariants } from "../../src/notebook/prompt-variants.js";

test("Figure 5 prompts: classes x (7 normal + 5 anomalous states) x templates", () => {
  assert.equal(figure5Prompts(false).length, 27 * 12 * 3);
  const quick = figure5Prompts(true);
  assert.equal(quick.length, 4 * 12);
  assert.equal(quick.filter((p) => p.kind === "normal").length, 4 * 7);
  const v = promptVariants(["metal nut"], ["a photo of a {}."]);
  assert.deepEqual(v.slice(0, 2).map((p) => p.text), ["a photo of a metal nut.", "a photo of a flawless metal nut."]);
  assert.deepEqual(v[7], { text: "a photo of a damaged metal nut.", group: "metal nut", kind: "anomalous" });
  assert.equal(v[11].text, "a photo of a metal nut with damage.");
});
