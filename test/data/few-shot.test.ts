import { test } from "node:test";
import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../src/errors.js";
import { sampleFewShot, type Sample } from "../../src/data/index.js";
import { createRng } from "../../src/data/random.js";

const sample = (category: string, split: "train" | "test", label: 0 | 1, i: number): Sample => ({
  imagePath: `/d/${category}/${split}/${label}/${String(i).padStart(3, "0")}.png`,
  maskPath: label ? `/d/${category}/gt/${i}.png` : null,
  label,
  category,
  defectType: label ? "broken" : "good",
  split,
});

const pool: Sample[] = [
  ...Array.from({ length: 10 }, (_, i) => sample("bottle", "train", 0, i)),
  ...Array.from({ length: 5 }, (_, i) => sample("bottle", "test", 0, i)),
  ...Array.from({ length: 5 }, (_, i) => sample("bottle", "test", 1, i)),
  ...Array.from({ length: 3 }, (_, i) => sample("cable", "train", 0, i)),
];

test("few-shot: k distinct normal training images of the category, reproducible by seed, independent of input order", () => {
  const a = sampleFewShot(pool, "bottle", 4, 7);
  assert.equal(a.length, 4);
  assert.equal(new Set(a.map((s) => s.imagePath)).size, 4);
  for (const s of a) assert.ok(s.category === "bottle" && s.split === "train" && s.label === 0);
  assert.deepEqual(sampleFewShot(pool, "bottle", 4, 7), a);
  assert.deepEqual(sampleFewShot([...pool].reverse(), "bottle", 4, 7), a);
  const draws = new Set(
    Array.from({ length: 20 }, (_, seed) =>
      sampleFewShot(pool, "bottle", 4, seed)
        .map((s) => s.imagePath)
        .join(),
    ),
  );
  assert.ok(draws.size > 15, `20 seeds gave only ${draws.size} distinct draws`);
  assert.deepEqual(
    new Set(sampleFewShot(pool, "cable", 3, 1).map((s) => s.imagePath)),
    new Set(pool.filter((s) => s.category === "cable").map((s) => s.imagePath)),
  );
});

test("few-shot: every training image is about equally likely (k/n) over many seeds", () => {
  const hits = new Map<string, number>();
  const seeds = 4000;
  for (let seed = 0; seed < seeds; seed++) for (const s of sampleFewShot(pool, "bottle", 2, seed)) hits.set(s.imagePath, (hits.get(s.imagePath) ?? 0) + 1);
  assert.equal(hits.size, 10);
  // Expected 800 per image (binomial sd ~25): a 6-sd band.
  for (const [p, n] of hits) assert.ok(Math.abs(n - 800) < 150, `${p} drawn ${n} times, expected ~800`);
});

test("few-shot: k larger than the pool, k not a positive integer, unknown category", () => {
  assert.throws(
    () => sampleFewShot(pool, "cable", 4, 0),
    (e: unknown) => e instanceof InvalidArgumentError && /only 3 normal training/.test(e.message),
  );
  assert.throws(() => sampleFewShot(pool, "bottle", 0, 0), InvalidArgumentError);
  assert.throws(() => sampleFewShot(pool, "bottle", 1.5, 0), InvalidArgumentError);
  assert.throws(
    () => sampleFewShot(pool, "nope", 1, 0),
    (e: unknown) => e instanceof InvalidArgumentError && /no samples of that category/.test(e.message),
  );
});

test("createRng: same seed same stream, uniform in [0,1) (chi-square over 20 bins), normal has mean 0 and sd 1", () => {
  const a = createRng(1, "x");
  const b = createRng(1, "x");
  const c = createRng(1, "y");
  const sa = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(
    sa,
    Array.from({ length: 5 }, () => b.next()),
  );
  assert.notDeepEqual(
    sa,
    Array.from({ length: 5 }, () => c.next()),
  );
  const r = createRng(42);
  const bins = new Array(20).fill(0);
  const n = 100000;
  for (let i = 0; i < n; i++) {
    const v = r.next();
    assert.ok(v >= 0 && v < 1);
    bins[Math.floor(v * 20)]++;
  }
  const chi2 = bins.reduce((s, o) => s + (o - n / 20) ** 2 / (n / 20), 0);
  assert.ok(chi2 < 43.8, `chi2 = ${chi2} (19 dof, p = 0.001 critical value 43.8)`);
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const v = r.normal();
    sum += v;
    sq += v * v;
  }
  assert.ok(Math.abs(sum / n) < 0.02);
  assert.ok(Math.abs(Math.sqrt(sq / n) - 1) < 0.02);
});
