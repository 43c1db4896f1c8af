/**
 * A persistent process of Debian's PyTorch for the benches' same-run comparisons: it prints
 * {"ready": version} once set up, then answers each stdin line (one timed request: a batch size, a
 * sequence length) with {"seconds": ...}. The seconds are summed per request key.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";

export class TorchWorker {
  private readonly lines: AsyncIterator<string>;
  version = "";
  /** Seconds summed per request line. */
  readonly seconds = new Map<string, number>();
  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  }

  /** `args`: python3's arguments (`-c SOURCE ...` or a script and its arguments); a string when it cannot start. */
  static async start(args: (string | number)[]): Promise<TorchWorker | string> {
    const env = { ...process.env };
    // Debian's OpenBLAS runs at half speed with the variables this environment sets (docs/performance.md).
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    const proc = spawn("/usr/bin/python3", args.map(String), { env });
    let stderr = "";
    proc.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    proc.on("error", (e) => {
      stderr += e.message;
    });
    const w = new TorchWorker(proc);
    const first = await w.lines.next();
    if (first.done) return stderr.trim().split("\n").pop() || "python3 exited";
    w.version = (JSON.parse(first.value) as { ready: string }).ready;
    return w;
  }

  /** One timed request; its seconds are added to `seconds` under `request`. */
  async run(request: number | string): Promise<void> {
    const key = String(request);
    this.proc.stdin.write(`${key}\n`);
    const r = await this.lines.next();
    if (r.done) throw new Error("the PyTorch worker exited");
    this.seconds.set(key, (this.seconds.get(key) ?? 0) + (JSON.parse(r.value) as { seconds: number }).seconds);
  }

  /** All seconds so far. */
  total(): number {
    let s = 0;
    for (const v of this.seconds.values()) s += v;
    return s;
  }

  stop(): void {
    this.proc.stdin.end();
  }
}

/**
 * Times `n` images on onnxruntime in batches of `batch`, each batch followed by a MatMul burst of
 * about a third of its time and by the same batch in PyTorch, so that a change of machine load hits
 * all three alike. Returns onnxruntime's seconds (the others keep their own).
 */
export async function interleavedBatches(
  n: number,
  batch: number,
  runBatch: (b: number) => Promise<unknown>,
  matmul: { burst(seconds: number): Promise<void> },
  torch: TorchWorker | string,
): Promise<number> {
  let seconds = 0;
  for (let done = 0; done < n; done += batch) {
    const b = Math.min(batch, n - done);
    const t0 = performance.now();
    await runBatch(b);
    const s = (performance.now() - t0) / 1000;
    seconds += s;
    await matmul.burst(Math.min(Math.max(s / 3, 0.5), 5));
    if (typeof torch !== "string") await torch.run(b);
  }
  return seconds;
}
