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
import { createRng } from "../src/data/random.js";

const PYTHON = "/usr/bin/python3";

function option(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} needs a positive integer, got ${argv[i + 1]}`);
  return v;
}

/** Half the images carry 1-3 elliptic defects; maps are a smooth background plus noise, raised inside defects. */
function synthesise(n: number, size: number): { masks: Uint8Array; maps: Float32Array } {
  const r = createRng(2024).next;
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
        a[p] = background + 0.25 * r() + m[p]! * strength * (0.5 + r());
      }
    }
  }
  return { masks, maps };
}

interface Timing {
  value: number;
  /** Wall-clock seconds. */
  s: number;
  /** CPU seconds of this process: the fairer ratio when other work shares the cores. */
  cpu: number;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
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

  const image = (i: number) => ({
    mask: { data: masks.subarray(i * px, (i + 1) * px), height: size, width: size },
    map: { data: maps.subarray(i * px, (i + 1) * px), height: size, width: size },
  });
  /** Each metric from scratch: a fresh accumulator (labelling, split, sort) so no work is shared. */
  const timed = (metric: (acc: PixelAccumulator) => number): Timing => {
    const t = performance.now();
    const c = cpuSeconds();
    const acc = new PixelAccumulator();
    for (let i = 0; i < n; i++) acc.add(image(i).mask, image(i).map);
    const value = metric(acc);
    return { value, s: (performance.now() - t) / 1000, cpu: cpuSeconds() - c };
  };
  const auroc = timed((acc) => acc.pixelAuroc());
  const pro = timed((acc) => acc.pro());
  const both = timed((acc) => acc.pixelAuroc() + acc.pro());
  const secs = (t: { s: number; cpu: number }) => `${t.s.toFixed(2)} s (cpu ${t.cpu.toFixed(2)} s)`;
  process.stdout.write(
    `simclip: P-AUROC = ${auroc.value.toFixed(8)} in ${secs(auroc)}; PRO = ${pro.value.toFixed(8)} in ${secs(pro)}; ` +
      `both from one accumulator ${secs(both)}\n`,
  );
  if (argv.includes("--no-python")) return;
  const missing = pythonAvailable();
  if (missing !== undefined) {
    process.stdout.write(
      `python reference not available (${PYTHON} with numpy, scikit-learn, scikit-image: ${missing}); ` +
        `install python3-sklearn python3-skimage to get the ratio\n`,
    );
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
    const py = JSON.parse(out.trim().split("\n").pop()!) as {
      p_auroc: number;
      p_auroc_s: number;
      p_auroc_cpu: number;
      pro: number;
      pro_s: number;
      pro_cpu: number;
    };
    const pyAuroc = { s: py.p_auroc_s, cpu: py.p_auroc_cpu };
    const pyPro = { s: py.pro_s, cpu: py.pro_cpu };
    const ratio = (p: { s: number; cpu: number }, o: Timing) => `${(p.s / o.s).toFixed(1)}x wall, ${(p.cpu / o.cpu).toFixed(1)}x cpu`;
    process.stdout.write(
      `python:  P-AUROC = ${py.p_auroc.toFixed(8)} in ${secs(pyAuroc)}; PRO = ${py.pro.toFixed(8)} in ${secs(pyPro)}\n` +
        `agreement: |dP-AUROC| = ${Math.abs(py.p_auroc - auroc.value).toExponential(2)}, |dPRO| = ${Math.abs(py.pro - pro.value).toExponential(2)}\n` +
        `speed ratio (python / simclip, > 1: simclip faster): P-AUROC ${ratio(pyAuroc, auroc)}; PRO ${ratio(pyPro, pro)}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
