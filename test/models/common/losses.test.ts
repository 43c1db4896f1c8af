import { test } from "node:test";
import assert from "node:assert/strict";
import { tf, tfReady } from "../../../src/tf.js";
import { crossEntropy, diceLoss, focalDiceFromLogits, focalLossBinary } from "../../../src/models/components/losses.js";

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test("focal loss equals hand-computed values of the authors' two-class FocalLoss", async () => {
  await tfReady();
  // Per pixel: one-hot clamped to [1e-5, 1 - 1e-5], pt = sum(onehot * [1 - p, p]) + 1e-5,
  // loss = -(1 - pt)^2 ln pt. Values computed by hand (Python, float64) for (p, g):
  // (0.9, 1) -> 0.0010535407914847874, (0.2, 0) -> 0.008925185034956491,
  // (0.3, 1) -> 0.589900211270231, (0.999, 0) -> 6.873928237795702.
  const per = [0.0010535407914847874, 0.008925185034956491, 0.589900211270231, 6.873928237795702];
  const p = tf.tensor2d([
    [0.9, 0.2],
    [0.3, 0.999],
  ]);
  const g = tf.tensor2d([
    [1, 0],
    [1, 0],
  ]);
  const got = focalLossBinary(p, g).dataSync()[0]!;
  // float32: 1 - 0.999 carries a ~1e-4 relative rounding error, hence 1e-5 relative tolerances.
  close(got, per.reduce((a, b) => a + b) / 4, 1e-5 * 1.87, "mean focal");
  for (let i = 0; i < 4; i++) {
    const one = focalLossBinary(tf.tensor1d([[0.9, 0.2, 0.3, 0.999][i]!]), tf.tensor1d([[1, 0, 1, 0][i]!])).dataSync()[0]!;
    close(one, per[i]!, 1e-5 * Math.max(1, per[i]!), `pixel ${i}`);
  }
});

test("dice loss: per-image smoothed dice, averaged (hand-computed)", async () => {
  await tfReady();
  // image 1: (2 * 0.5 + 1) / (1 + 1 + 1) = 2/3; image 2 (all normal, all-zero prediction): 1 / 1 = 1.
  const p = tf.tensor3d([
    [
      [0.5, 0.5],
      [0, 0],
    ],
    [
      [0, 0],
      [0, 0],
    ],
  ]);
  const g = tf.tensor3d([
    [
      [1, 0],
      [0, 0],
    ],
    [
      [0, 0],
      [0, 0],
    ],
  ]);
  close(diceLoss(p, g).dataSync()[0]!, 1 - (2 / 3 + 1) / 2, 1e-7, "dice");
});

test("cross-entropy: ln(1 + e^2) and ln(1 + e^-1) averaged", async () => {
  await tfReady();
  const logits = tf.tensor2d([
    [2, 0],
    [0, 1],
  ]);
  close(crossEntropy(logits, [1, 1]).dataSync()[0]!, (2.1269280110429727 + 0.31326168751822286) / 2, 1e-6, "ce");
});

test("focalDiceFromLogits: same values as focal/dice of sigmoid(z), and its hand-written gradient equals autodiff's", async () => {
  await tfReady();
  const z = tf.randomNormal([3, 5, 4], 0, 3, "float32", 9);
  const g = tf.tensor3d(
    Array.from({ length: 60 }, (_, i) => ((i * 7) % 5 === 0 ? 1 : 0)),
    [3, 5, 4],
  );
  const [f, d] = focalDiceFromLogits(z, g).arraySync();
  const p = tf.sigmoid(z);
  close(f!, focalLossBinary(p, g).dataSync()[0]!, 1e-6, "focal");
  close(d!, diceLoss(p, g).dataSync()[0]!, 1e-6, "dice");
  const w = [0.7, 1.9];
  const fused = tf
    .grad((t: tf.Tensor) => tf.sum(tf.mul(focalDiceFromLogits(t, g), w)))(z)
    .dataSync();
  const auto = tf
    .grad((t: tf.Tensor) => {
      const q = tf.sigmoid(t);
      return tf.add(tf.mul(focalLossBinary(q, g), w[0]!), tf.mul(diceLoss(q, g), w[1]!));
    })(z)
    .dataSync();
  for (let i = 0; i < auto.length; i++) close(fused[i]!, auto[i]!, 1e-6 + 1e-4 * Math.abs(auto[i]!), `dz[${i}]`);
});
