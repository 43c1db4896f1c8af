/**
 * Per-method options: schema validation and coercion, the CLI flags' mapping, and the registry
 * rejecting what a method does not declare (before any weights are built).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { Command } from "commander";
import { InvalidArgumentError } from "../../../src/errors.js";
import { ClipModel } from "../../../src/clip/model.js";
import { addMethodOptionFlags, collectOptionAssignment, mergeOptionAssignments, methodOptionsFromCommand } from "../../../src/cli/options.js";
import { resolvedMethodOptions, validateMethodOptions, type MethodOptionSchema } from "../../../src/models/common/method-options.js";
import { createMethod, methodOptionSchema } from "../../../src/models/registry.js";
import type { MethodContext } from "../../../src/models/common/method.js";
import { SimClipPlus } from "../../../src/models/simclip-plus/model.js";

const SCHEMA: MethodOptionSchema = {
  on: { type: "boolean", default: true, description: "a switch" },
  mode: { type: "enum", values: ["a", "b"], default: "a", description: "a mode" },
  k: { type: "number", default: 3, integer: true, min: 1, max: 9, description: "a count" },
};

const rejects = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof InvalidArgumentError, `${e.name}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });

test("validateMethodOptions parses CLI strings, passes typed values and returns only the given keys", () => {
  assert.deepEqual(validateMethodOptions("m", SCHEMA, { on: "false", mode: "b", k: "7" }), { on: false, mode: "b", k: 7 });
  assert.deepEqual(validateMethodOptions("m", SCHEMA, { on: true, k: 2 }), { on: true, k: 2 });
  assert.deepEqual(validateMethodOptions("m", SCHEMA, undefined), {});
  assert.deepEqual(resolvedMethodOptions("m", SCHEMA, { mode: "b" }), { on: true, mode: "b", k: 3 });
});

test("validateMethodOptions: unknown keys list the valid ones; bad values say what is expected", () => {
  rejects(
    () => validateMethodOptions("m", SCHEMA, { of: "true" }),
    /method "m" has no option "of"; options of method "m": on=true\|false \(default true: a switch\); mode=a\|b \(default a: a mode\); k=integer/,
  );
  rejects(() => validateMethodOptions("none", {}, { x: 1 }), /method "none" has no option "x"; method "none" takes no options/);
  rejects(() => validateMethodOptions("m", SCHEMA, { on: "no" }), /option on must be true or false; got "no"/);
  rejects(() => validateMethodOptions("m", SCHEMA, { mode: "c" }), /option mode must be one of a, b; got "c"/);
  rejects(() => validateMethodOptions("m", SCHEMA, { k: "2.5" }), /option k must be an integer >= 1 and <= 9; got "2.5"/);
  rejects(() => validateMethodOptions("m", SCHEMA, { k: 10 }), /option k must be an integer >= 1 and <= 9; got 10/);
  rejects(() => validateMethodOptions("m", SCHEMA, { k: "" }), /option k must be an integer/);
});

test("--option assignments and shorthand flags merge; one key with two values is an error", () => {
  assert.deepEqual(collectOptionAssignment("b=x=y", ["a=1"]), ["a=1", "b=x=y"]);
  rejects(() => collectOptionAssignment("fd"), /--option takes key=value/);
  rejects(() => collectOptionAssignment("=1"), /--option takes key=value/);
  assert.deepEqual(mergeOptionAssignments(["fd=false"], { fd: { value: false, flag: "--no-fd" } }), { fd: false });
  rejects(
    () => mergeOptionAssignments(["fd=true"], { fd: { value: false, flag: "--no-fd" } }),
    /option fd is given twice with different values \(--option fd=true and --no-fd\)/,
  );
  rejects(() => mergeOptionAssignments(["k=1", "k=2"]), /option k is given twice/);
});

test("the CLI flags map to SimCLIP+'s keys only when given", () => {
  const parse = (argv: string[]) => {
    let got: Record<string, unknown> = {};
    const cmd = addMethodOptionFlags(new Command("x").exitOverride()).action((_o, c: Command) => {
      got = methodOptionsFromCommand(c);
    });
    cmd.parse(argv, { from: "user" });
    return got;
  };
  assert.deepEqual(parse([]), {});
  assert.deepEqual(parse(["--no-fd"]), { fd: false });
  assert.deepEqual(parse(["--no-pao", "--pao-weighting", "last-layer"]), { pao: false, weighting: "last-layer" });
  assert.deepEqual(parse(["--option", "imageScoreMap=zero-shot+fd", "--option", "fd=true"]), { imageScoreMap: "zero-shot+fd", fd: "true" });
});

test("the registry declares SimCLIP+'s switches with the paper's defaults and rejects options a method lacks", async () => {
  const schema = await methodOptionSchema("simclip+");
  // The paper's defaults (Sec. 3.3 / Algorithm 1), written out independently of config.ts.
  assert.deepEqual(resolvedMethodOptions("simclip+", schema), { fd: true, pao: true, weighting: "last-layer", imageScoreMap: "zero-shot+fd" });
  assert.deepEqual(Object.keys(await methodOptionSchema("patchcore")), ["backbone", "coresetRatio"]);
  await assert.rejects(methodOptionSchema("nope"), /unknown method "nope"; known: /);
  // Rejected before the factory runs: the backbone is never touched.
  const ctx = { backbone: {} as MethodContext["backbone"] };
  await assert.rejects(
    createMethod("patchcore", { ...ctx, options: { fd: false } }),
    /method "patchcore" has no option "fd"; options of method "patchcore": backbone=wide_resnet50_2\|clip/,
  );
  await assert.rejects(
    createMethod("simclip+", { ...ctx, options: { weighting: "paper" } }),
    /option weighting must be one of per-layer, last-layer; got "paper"/,
  );
  await assert.rejects(createMethod("simclip+", { ...ctx, options: { fd: "false", pao: false } }), /both fd and pao are off/);
});

test("createMethod builds SimCLIP+ with the options it is given (strings or typed)", async () => {
  const model = await ClipModel.load(path.join(import.meta.dirname, "../../fixtures/clip-tiny"));
  try {
    const m = await createMethod("simclip+", { backbone: model, size: 64, layers: [1, 2, 3, 4], options: { pao: "false", weighting: "last-layer" } });
    assert.ok(m instanceof SimClipPlus);
    assert.deepEqual(m.config, { fd: true, pao: false, weighting: "last-layer", imageScoreMap: "zero-shot+fd" });
    assert.deepEqual([m.size, m.layers], [64, [1, 2, 3, 4]]);
    m.dispose();
  } finally {
    await model.dispose();
  }
});
