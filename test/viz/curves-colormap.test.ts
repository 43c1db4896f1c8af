import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { InvalidArgumentError, ShapeError } from "../../src/errors.js";
import { jetColor } from "../../src/viz/colormap.js";
import { prCurve, rocCurve } from "../../src/viz/curves.js";
import { at } from "../at.js";

// Reference values from scikit-learn and matplotlib (generator recorded in the file).
const ref = JSON.parse(readFileSync(new URL("../fixtures/viz/reference.json", import.meta.url), "utf8"));

function close(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((v, i) => {
    const want = at(expected, i);
    assert.ok(Math.abs(v - want) < 1e-12, `${what}[${i}]: ${v} vs ${want}`);
  });
}

test("rocCurve matches scikit-learn roc_curve(drop_intermediate=False) on tied scores", () => {
  const roc = rocCurve(ref.labels, ref.scores);
  close(roc.fpr, ref.roc.fpr, "fpr");
  close(roc.tpr, ref.roc.tpr, "tpr");
  assert.equal(roc.thresholds[0], Infinity);
  close(roc.thresholds.slice(1), ref.roc.thresholds, "thresholds");
});

test("prCurve matches scikit-learn precision_recall_curve", () => {
  const pr = prCurve(ref.labels, ref.scores);
  close(pr.recall, ref.pr.recall, "recall");
  close(pr.precision, ref.pr.precision, "precision");
  close(pr.thresholds.slice(1), ref.pr.thresholds, "thresholds");
});

test("curves on a hand-computed case and bad inputs", () => {
  // scores 0.9(1) 0.8(0) 0.8(1) 0.1(0): thresholds 0.9, 0.8, 0.1.
  const roc = rocCurve([1, 0, 1, 0], [0.9, 0.8, 0.8, 0.1]);
  assert.deepEqual(roc.fpr, [0, 0, 0.5, 1]);
  assert.deepEqual(roc.tpr, [0, 0.5, 1, 1]);
  const pr = prCurve([1, 0, 1, 0], [0.9, 0.8, 0.8, 0.1]);
  assert.deepEqual(pr.precision, [1, 1, 2 / 3, 0.5]);
  assert.throws(() => rocCurve([1, 1], [0.2, 0.3]), InvalidArgumentError);
  assert.throws(() => rocCurve([1, 2], [0.2, 0.3]), InvalidArgumentError);
  assert.throws(() => prCurve([1, 0], [0.2]), ShapeError);
});

test("jetColor matches matplotlib's jet colormap (bytes=True)", () => {
  ref.jet.x.forEach((x: number, i: number) => {
    assert.deepEqual(jetColor(x), ref.jet.rgb[i], `x = ${x}`);
  });
  assert.deepEqual(jetColor(-3), jetColor(0));
  assert.deepEqual(jetColor(7), jetColor(1));
});
