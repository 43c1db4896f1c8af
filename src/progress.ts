/**
 * Progress reporting for long work (feature extraction, training, evaluation).
 *
 * Library code asks for a `Progress` through `startProgress`; where it is shown is decided once per
 * process: a cli-progress bar when stderr is a terminal, a line every few seconds otherwise (CI logs,
 * piped output), or whatever a notebook installs with `setProgressFactory` (see `src/notebook`).
 */
import cliProgress from "cli-progress";

export interface Progress {
  /** `done` items of the total are finished; `info` is shown beside the bar (e.g. `{ loss: 0.31 }`). */
  update(done: number, info?: Record<string, string | number>): void;
  stop(): void;
}

export type ProgressFactory = (label: string, total: number) => Progress;

let factory: ProgressFactory | undefined;

/**
 * Replace how progress is shown (notebooks install an HTML display; `simclip serve` forwards it to
 * the page); `undefined` restores the default. Returns the factory it replaces, to put back.
 */
export function setProgressFactory(f: ProgressFactory | undefined): ProgressFactory | undefined {
  const previous = factory;
  factory = f;
  return previous;
}

export function startProgress(label: string, total: number): Progress {
  if (factory) return factory(label, total);
  if (process.env.SIMCLIP_QUIET === "1") return { update() {}, stop() {} };
  return process.stderr.isTTY ? terminalBar(label, total) : logLines(label, total);
}

function formatInfo(info?: Record<string, string | number>): string {
  if (!info) return "";
  return Object.entries(info)
    .map(([k, v]) => `${k}=${typeof v === "number" ? Number(v.toPrecision(4)) : v}`)
    .join(" ");
}

function terminalBar(label: string, total: number): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} {percentage}% | {rate}/s | ETA {eta_formatted} {info}`,
      stream: process.stderr,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const start = Date.now();
  bar.start(total, 0, { rate: "0.00", info: "" });
  return {
    update(done, info) {
      const rate = done / Math.max((Date.now() - start) / 1000, 1e-3);
      bar.update(done, { rate: rate.toFixed(2), info: formatInfo(info) });
    },
    stop: () => bar.stop(),
  };
}

/** Non-terminal output: one line at most every 5 s, plus the final line, with rate and ETA. */
function logLines(label: string, total: number): Progress {
  const start = Date.now();
  let last = 0;
  let lastDone = 0;
  let lastInfo: Record<string, string | number> | undefined;
  const line = (done: number) => {
    const s = (Date.now() - start) / 1000;
    const rate = done / Math.max(s, 1e-3);
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    process.stderr.write(
      `${label}: ${done}/${total} (${rate.toFixed(2)}/s, ${s.toFixed(1)} s, ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)} s` : "?"}) ${formatInfo(lastInfo)}\n`,
    );
  };
  return {
    update(done, info) {
      lastDone = done;
      lastInfo = info ?? lastInfo;
      if (Date.now() - last > 5000 || done === total) {
        last = Date.now();
        line(done);
      }
    },
    stop() {
      if (lastDone !== total) line(lastDone);
    },
  };
}
