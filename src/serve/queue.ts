/**
 * The jobs of `simclip serve`, run one at a time: the backbone and the methods are not safe to share
 * between concurrent runs, and on a few CPU cores running two at once would only make both slower.
 * A request arriving while one runs waits its turn; a job that fails records its error and the
 * queue goes on.
 */
import { randomUUID } from "node:crypto";
import { SimclipError } from "../errors.js";
import { QueueFullError } from "./errors.js";

export type JobState = "queued" | "running" | "done" | "failed";

export interface JobProgress {
  /** What the job is doing, in words. */
  stage: string;
  done?: number;
  total?: number;
}

export interface Job<T> {
  readonly id: string;
  state: JobState;
  progress: JobProgress;
  result?: T;
  /** Set when `state` is "failed": the message the page shows. */
  error?: string;
}

export type JobRunner<T> = (report: (p: JobProgress) => void) => Promise<T>;

export interface JobQueueOptions {
  /** Jobs that may wait at once; one more is a QueueFullError (a 503 the page shows), never a silent drop. */
  maxWaiting: number;
  /** Finished jobs kept for the page to collect (oldest forgotten first). */
  keepFinished: number;
  /** Where unexpected (non-SimclipError) failures are logged with their stack. */
  log?: (line: string) => void;
}

interface Entry<T> {
  job: Job<T>;
  run: JobRunner<T>;
  cleanup?: () => void;
}

export class JobQueue<T> {
  private readonly jobs = new Map<string, Job<T>>();
  private readonly waiting: Entry<T>[] = [];
  private readonly finished: string[] = [];
  private current: Entry<T> | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly opts: JobQueueOptions) {}

  /** Queues `run`; `cleanup` runs after it, whatever the outcome. */
  submit(run: JobRunner<T>, cleanup?: () => void): Job<T> {
    if (this.waiting.length >= this.opts.maxWaiting) throw new QueueFullError(this.opts.maxWaiting);
    const job: Job<T> = { id: randomUUID(), state: "queued", progress: { stage: "waiting for the jobs before it" } };
    this.jobs.set(job.id, job);
    this.waiting.push({ job, run, cleanup });
    this.running ??= this.drain();
    return job;
  }

  get(id: string): Job<T> | undefined {
    return this.jobs.get(id);
  }

  /** Jobs that will run (or are running) before `job`; 0 once it runs. */
  ahead(job: Job<T>): number {
    const i = this.waiting.findIndex((w) => w.job === job);
    return i < 0 ? 0 : i + (this.current ? 1 : 0);
  }

  /** Resolves once every queued job has finished. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    // Started from submit: yield first so that a burst of submits all queue before the first runs.
    await Promise.resolve();
    for (let entry = this.waiting.shift(); entry; entry = this.waiting.shift()) {
      this.current = entry;
      const { job } = entry;
      job.state = "running";
      job.progress = { stage: "starting" };
      try {
        job.result = await entry.run((p) => (job.progress = p));
        job.state = "done";
      } catch (err) {
        job.state = "failed";
        if (err instanceof SimclipError) job.error = `${err.name}: ${err.message}`;
        else {
          job.error = `internal error: ${(err as Error)?.message ?? String(err)} (the server's log has the details)`;
          (this.opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(`simclip serve: job ${job.id} failed: ${(err as Error)?.stack ?? String(err)}`);
        }
      } finally {
        this.current = null;
        entry.cleanup?.();
      }
      this.remember(job);
    }
    this.running = null;
  }

  private remember(job: Job<T>): void {
    this.finished.push(job.id);
    while (this.finished.length > this.opts.keepFinished) this.jobs.delete(this.finished.shift()!);
  }
}
