import { test } from "node:test";
import assert from "node:assert/strict";
import { tf, tfReady } from "../../src/tf.js";
import { Tape, replay, type TapeNode } from "../../src/clip/autodiff/tape.js";
import { buildVjpGraphs, gradName } from "../../src/clip/autodiff/vjp-graphs.js";
import { createOrtSession, ort } from "../../src/clip/ort-executor.js";
import { TfClipOps } from "../../src/clip/tfjs-ops.js";
import { InvalidArgumentError, ShapeError } from "../../src/errors.js";

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 0.91) * 0.8);

/** The tape on tfjs (the reference differentiator), from tfjs tensors bound to its inputs. */
function onTf(tape: Tape, bound: Map<TapeNode, tf.Tensor>, ops: TfClipOps, out: TapeNode): tf.Tensor {
  const v = new Map(bound);
  for (const node of tape.nodes) {
    if (v.has(node)) continue;
    if (node.op.kind === "constant") {
      const c = node.op.value;
      v.set(
        node,
        ops.constant(node.op.key, () => c),
      );
    } else if (node.op.kind !== "input")
      v.set(
        node,
        replay(
          node,
          ops,
          node.inputs.map((i) => v.get(i)!),
        ),
      );
  }
  return v.get(out)!;
}

test("reverse mode through broadcasting, batched and 2-D matmuls, every ClipOps op but gather: equals tfjs autodiff, batch-polymorphic", async () => {
  await tfReady();
  const tape = new Tape();
  const a = tape.input("a", [-1, 3, 4], true);
  const w = tape.input("w", [4, 6], true);
  const s = tape.input("s", [1, 6], true);
  const frozen = tape.constant("frozen", () => ({ data: values(6 * 5, 9), shape: [6, 5] }));
  const gamma = tape.constant("gamma", () => ({ data: values(5, 3), shape: [5] }));
  let h = tape.mul(tape.matmul(a, w), s); // [B, 3, 6], s broadcast over batch and rows
  h = tape.add(tape.sigmoid(h), tape.erf(h));
  h = tape.layerNorm(tape.matmul(h, frozen), gamma, gamma, 1e-5); // [B, 3, 5]
  const t = tape.transpose(h, [0, 2, 1]); // [B, 5, 3]
  const att = tape.softmax(tape.matmul(h, t)); // [B, 3, 3], both operands differentiable
  const padded = tape.pad(tape.matmul(att, h), [0, 1, 0], [0, 0, 2]); // [B, 4, 7]
  const out = tape.reshape(tape.slice(padded, 2, 1, 6), [-1, 20]); // [B, 20]
  const g = buildVjpGraphs("toy", tape, [
    { name: "y", node: out },
    { name: "z", node: t },
  ]);
  assert.deepEqual(g.gradients, ["grad_a", "grad_w", "grad_s"]);
  const [fwd, bwd] = await Promise.all([createOrtSession(g.forward, { threads: 1 }), createOrtSession(g.backward, { threads: 1 })]);
  const ops = new TfClipOps();
  const W = values(24, 2),
    S = values(6, 4);
  for (const B of [2, 5]) {
    const A = values(B * 12, B);
    const gy = values(B * 20, 11),
      gz = values(B * 15, 12);
    const feeds: Record<string, ort.Tensor> = {
      a: new ort.Tensor("float32", A, [B, 3, 4]),
      w: new ort.Tensor("float32", W, [4, 6]),
      s: new ort.Tensor("float32", S, [1, 6]),
    };
    const f = await fwd.run(feeds);
    const bfeeds: Record<string, ort.Tensor> = {
      [gradName("y")]: new ort.Tensor("float32", gy, [B, 20]),
      [gradName("z")]: new ort.Tensor("float32", gz, [B, 5, 3]),
    };
    for (const r of g.residuals) bfeeds[r.name] = f[r.name]!;
    for (const i of g.sharedInputs) bfeeds[i] = feeds[i]!;
    const got = await bwd.run(bfeeds);
    const [ta, tw, ts] = [tf.tensor3d(A, [B, 3, 4]), tf.tensor2d(W, [4, 6]), tf.tensor2d(S, [1, 6])];
    const loss = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => {
      const bound = new Map<TapeNode, tf.Tensor>([
        [a, x],
        [w, y],
        [s, z],
      ]);
      return tf.add(
        tf.sum(tf.mul(onTf(tape, bound, ops, out), tf.tensor2d(gy, [B, 20]))),
        tf.sum(tf.mul(onTf(tape, bound, ops, t), tf.tensor3d(gz, [B, 5, 3]))),
      );
    };
    const ref = tf.grads(loss)([ta, tw, ts]);
    const yRef = onTf(
      tape,
      new Map<TapeNode, tf.Tensor>([
        [a, ta],
        [w, tw],
        [s, ts],
      ]),
      ops,
      out,
    );
    assert.ok(tf.max(tf.abs(tf.sub(yRef, tf.tensor2d(f.y!.data as Float32Array, [B, 20])))).dataSync()[0]! < 1e-5, "forward output");
    ["a", "w", "s"].forEach((name, i) => {
      const mine = got[gradName(name)]!;
      assert.deepEqual(mine.dims, ref[i]!.shape, `grad_${name} shape`);
      const err = tf.max(tf.abs(tf.sub(tf.tensor(mine.data as Float32Array, ref[i]!.shape), ref[i]!))).dataSync()[0]!;
      const scale = tf.max(tf.abs(ref[i]!)).dataSync()[0]!;
      assert.ok(err <= 1e-5 * scale, `batch ${B}, grad_${name}: error ${err} (scale ${scale})`);
    });
  }
  ops.dispose();
  await Promise.all([fwd.release(), bwd.release()]);
});

test("reverse mode refuses what it does not implement, with typed errors", () => {
  const tape = new Tape();
  const table = tape.input("table", [10, 4], true);
  const ids = tape.input("ids", [-1, 3], false);
  assert.throws(() => buildVjpGraphs("g", tape, [{ name: "y", node: tape.gather(table, ids) }]), InvalidArgumentError);
  const t2 = new Tape();
  const x = t2.input("x", [-1, 4], true);
  const unused = t2.input("unused", [4], true);
  assert.throws(
    () => buildVjpGraphs("g", t2, [{ name: "y", node: t2.sigmoid(x) }]),
    (e: unknown) => e instanceof InvalidArgumentError && /"unused"/.test(e.message),
  );
  assert.ok(unused);
  assert.throws(() => t2.reshape(x, [3, -1]), ShapeError);
  assert.throws(() => t2.slice(x, 0, 0, 1), ShapeError);
  assert.throws(() => t2.add(x, t2.input("y", [5], false)), ShapeError);
});
