/**
 * `npm run bench -- metrics [--images 200] [--size 518] [--no-python]`: P-AUROC and PRO on a synthetic
 * category (defaults: 200 images at 518 x 518, VisA scale), timed here and, where Debian's
 * /usr/bin/python3 has scikit-learn and scikit-image, with the peers' Python code on the same data
 * (bench/metrics_reference.py) in the same run. Speed is reported as the ratio python / ours.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PixelAccumulator } from "../src/metrics/index.js";

const PYTHON = "/usr/bin/python3";

function option(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} needs a positive integer, got ${argv[i + 1]}`);
  return v;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Half the images carry 1-3 elliptic defects; maps are a smooth background plus noise, raised inside defects. */
function synthesise(n: number, size: number): { masks: Uint8Array; maps: Float32Array } {
  const r = mulberry32(2024);
  const px = size * size;
  const masks = new Uint8Array(n * px);
  const maps = new Float32Array(n * px);
  for (let i = 0; i < n; i++) {
    const m = masks.subarray(i * px, (i + 1) * px);
    const a = maps.subarray(i * px, (i + 1) * px);
    const defects = r() < 0.5 ? 1 + Math.floor(r() * 3) : 0;
    for (let d = 0; d < defects; d++) {
      const cy = r() * size;
      const cx = r() * size;
      const ry = 3 + r() * size * 0.08;
      const rx = 3 + r() * size * 0.08;
      for (let y = Math.max(0, Math.floor(cy - ry)); y < Math.min(size, cy + ry); y++) {
        for (let x = Math.max(0, Math.floor(cx - rx)); x < Math.min(size, cx + rx); x++) {
          if (((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1) m[y * size + x] = 1;
        }
      }
    }
    const fy = 1 + r() * 4;
    const fx = 1 + r() * 4;
    const strength = 0.2 + r() * 0.6;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const p = y * size + x;
        const background = 0.3 * Math.sin((fy * y) / size) * Math.cos((fx * x) / size);
        a[p] = background + 0.25 * r() + m[p] * strength * (0.5 + r());
      }
    }
  }
  return { masks, maps };
}

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function pythonAvailable(): string | undefined {
  const probe = spawnSync(PYTHON, ["-c", "import numpy, sklearn, skimage"], { encoding: "utf8" });
  if (probe.error) return `${PYTHON} not found`;
  if (probe.status !== 0) return probe.stderr.trim().split("\n").pop();
  return undefined;
}

export async function run(argv: string[]): Promise<void> {
  const n = option(argv, "--images", 200);
  const size = option(argv, "--size", 518);
  const px = size * size;
  process.stdout.write(`metrics bench: ${n} images x ${size} x ${size} (${((n * px) / 1e6).toFixed(1)} M pixels)\n`);
  const { masks, maps } = synthesise(n, size);

  let t = process.hrtime.bigint();
  const acc = new PixelAccumulator();
  for (let i = 0; i < n; i++) {
    acc.add({ data: masks.subarray(i * px, (i + 1) * px), height: size, width: size },
      { data: maps.subarray(i * px, (i + 1) * px), height: size, width: size });
  }
  const addS = seconds(t);
  t = process.hrtime.bigint();
  const pAuroc = acc.pixelAuroc();
  const aurocS = seconds(t);
  t = process.hrtime.bigint();
  const pro = acc.pro();
  const proS = seconds(t);
  const oursAuroc = addS + aurocS;
  const oursPro = addS + proS;
  process.stdout.write(
    `simclip: add (labelling, split) ${addS.toFixed(2)} s, P-AUROC ${aurocS.toFixed(2)} s (incl. the one sort), ` +
      `PRO ${proS.toFixed(2)} s afterwards\n` +
      `simclip: P-AUROC = ${pAuroc.toFixed(8)} in ${oursAuroc.toFixed(2)} s from scratch; ` +
      `PRO = ${pro.toFixed(8)} in ${(addS + aurocS + proS).toFixed(2)} s for both\n`,
  );

  if (argv.includes("--no-python")) return;
  const missing = pythonAvailable();
  if (missing !== undefined) {
    process.stdout.write(`python reference not available (${PYTHON} with numpy, scikit-learn, scikit-image: ${missing}); ` +
      `install python3-sklearn python3-skimage to get the ratio\n`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "simclip-metrics-bench-"));
  try {
    writeFileSync(join(dir, "masks.u8"), masks);
    writeFileSync(join(dir, "maps.f32"), maps);
    process.stdout.write("python (sklearn roc_auc_score + cal_pro_score) running; this takes minutes at full size...\n");
    const script = fileURLToPath(new URL("./metrics_reference.py", import.meta.url));
    const out = execFileSync(PYTHON, [script, dir, String(n), String(size), String(size)], {
      encoding: "utf8",
      maxBuffer: 1 << 20,
      env: { ...process.env, OMP_NUM_THREADS: "2" },
    });
    const py = JSON.parse(out.trim().split("\n").pop()!) as { p_auroc: number; p_auroc_s: number; pro: number; pro_s: number };
    process.stdout.write(
      `python:  P-AUROC = ${py.p_auroc.toFixed(8)} in ${py.p_auroc_s.toFixed(2)} s; PRO = ${py.pro.toFixed(8)} in ${py.pro_s.toFixed(2)} s\n` +
        `agreement: |dP-AUROC| = ${Math.abs(py.p_auroc - pAuroc).toExponential(2)}, |dPRO| = ${Math.abs(py.pro - pro).toExponential(2)}\n` +
        `speed ratio (python s / simclip s, >1 = we are faster): P-AUROC ${(py.p_auroc_s / oursAuroc).toFixed(2)}x ` +
        `(ours from scratch incl. add), PRO ${(py.pro_s / oursPro).toFixed(2)}x (ours incl. add and sort)\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
