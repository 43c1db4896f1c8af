/**
 * `npm run bench -- cache [--images N] [--grid G] [--width W] [--layers 6,12,18,24]`: read throughput
 * of the feature cache (MB/s of entry bytes, including checksum verification and fp16 -> float32
 * decoding) against a raw sequential read (fs.readFile) of the same files, in the same run. Defaults
 * are ViT-L/14 at 518 px: 37 x 37 patches x 1024 wide x 4 layers = 11.2 MB per image on disk.
 * Both reads come from the OS page cache (the entries were just written), so the ratio isolates the
 * cache's own overhead.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { FeatureCache, type FeatureSourceInfo } from "../src/cache/index.js";

/** Residual-stream-like values in [-4, 4) from a multiplicative hash (cheap, so the fill measures the cache). */
function pseudoFeatures(n: number, salt: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (Math.imul(i + salt * 7919, 2654435761) >>> 0) / 2 ** 29 - 4;
  return out;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      images: { type: "string", default: "24" },
      grid: { type: "string", default: "37" },
      width: { type: "string", default: "1024" },
      layers: { type: "string", default: "6,12,18,24" },
    },
  });
  const n = Number(values.images);
  const grid = Number(values.grid);
  const width = Number(values.width);
  const layers = values.layers.split(",").map(Number);
  const dir = await mkdtemp(path.join(os.tmpdir(), "simclip-bench-cache-"));
  process.env.SIMCLIP_QUIET = "1";
  try {
    const paths: string[] = [];
    for (let i = 0; i < n; i++) {
      paths.push(path.join(dir, `img${i}.png`));
      await writeFile(paths[i]!, `synthetic image ${i}`);
    }
    const source: FeatureSourceInfo = {
      id: `bench;grid=${grid};width=${width};layers=${layers.join(",")}`,
      layers,
      batchSize: 4,
      extract: async (ps) =>
        ps.map((p) => ({
          patchTokens: new Map(layers.map((l) => [l, pseudoFeatures(grid * grid * width, l + p.length)])),
          pooled: pseudoFeatures(width, 1),
          grid,
          width,
        })),
    };
    const cache = await FeatureCache.open(path.join(dir, "cache"), source);
    const t = performance.now();
    await cache.ensure(paths);
    const fillS = (performance.now() - t) / 1000;
    const entries: string[] = [];
    for (const f of await readdir(cache.dir, { recursive: true })) if (f.endsWith(".f16")) entries.push(path.join(cache.dir, f));
    let bytes = 0;
    for (const e of entries) bytes += (await stat(e)).size;
    const mb = bytes / 2 ** 20;

    const best = async (fn: () => Promise<void>) => {
      let s = Infinity;
      for (let r = 0; r < 3; r++) {
        const t0 = performance.now();
        await fn();
        s = Math.min(s, (performance.now() - t0) / 1000);
      }
      return s;
    };
    const rawS = await best(async () => {
      for (const e of entries) await readFile(e);
    });
    const cacheS = await best(async () => {
      for (const p of paths) await cache.get(p);
    });
    const oneLayerS = await best(async () => {
      for (const p of paths) await cache.get(p, { layers: [layers[layers.length - 1]!] });
    });
    const line = (label: string, s: number, m = mb) => `${label.padEnd(44)} ${(m / s).toFixed(0).padStart(6)} MB/s  (${(n / s).toFixed(1)} images/s)`;
    const perLayerMb = mb / (layers.length + 1 / (grid * grid));
    process.stdout.write(
      [
        `feature cache: ${n} images, ${layers.length} layers x ${grid * grid} tokens x ${width}, ${(mb / n).toFixed(1)} MB per entry (fp16), ${mb.toFixed(0)} MB total`,
        line("fill (fake features + fp16 encode + write)", fillS),
        line("raw sequential read (fs.readFile)", rawS),
        line("cache.get (read + crc32 + fp16 decode)", cacheS),
        line("cache.get one layer", oneLayerS, perLayerMb),
        `ratio cache.get / raw read: ${(rawS / cacheS).toFixed(2)}x`,
        "",
      ].join("\n"),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
