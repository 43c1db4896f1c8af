/**
 * `simclip serve`'s HTTP server: the page, the upload store and the job queue around an
 * `Inspector`, on 127.0.0.1 unless told otherwise. `close` stops listening, lets the running job
 * finish, and removes every uploaded file with the temporary directory.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Inspector, InspectResult } from "./inspector.js";
import { JobQueue } from "./queue.js";
import { handler, loadPages, type ServeSample } from "./routes.js";
import { DEFAULT_UPLOAD_LIMITS, UploadStore, type UploadLimits } from "./uploads.js";

/** The page's files, in the package (assets/ is published; this file is src/serve/ or dist/serve/). */
export const PAGE_DIR = path.resolve(import.meta.dirname, "../../assets/serve");

export interface ServeOptions {
  inspector: Inspector;
  /** Default 127.0.0.1: only this machine can reach the page. */
  host?: string;
  /** Default 7860; 0 picks a free port. */
  port?: number;
  limits?: Partial<UploadLimits>;
  /** Jobs that may wait at once (default 64). */
  maxQueue?: number;
  samples?: ServeSample[];
  defaultCategory?: string;
  log?: (line: string) => void;
}

export interface ServeHandle {
  url: string;
  server: Server;
  uploads: UploadStore;
  /** Stops accepting requests, waits for queued jobs, removes the uploads' directory. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export async function startServer(opts: ServeOptions): Promise<ServeHandle> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const host = opts.host ?? "127.0.0.1";
  const uploads = await UploadStore.create({ ...DEFAULT_UPLOAD_LIMITS, ...opts.limits });
  try {
    const queue = new JobQueue<InspectResult>({ maxWaiting: opts.maxQueue ?? 64, keepFinished: 64, log });
    const state = {
      inspector: opts.inspector,
      uploads,
      queue,
      samples: opts.samples ?? [],
      pages: await loadPages(PAGE_DIR),
      defaultCategory: opts.defaultCategory ?? "object",
      allowedHosts: undefined as Set<string> | undefined,
      log,
    };
    const server = createServer(handler(state));
    // A malformed request line or a reset connection is that client's problem, not the server's.
    server.on("clientError", (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 7860, host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    // Bound to the loopback interface: also refuse other Host names, so a web page elsewhere cannot
    // reach the server through a DNS name rebound to 127.0.0.1.
    if (LOOPBACK.has(host)) state.allowedHosts = new Set(["127.0.0.1", "localhost", "[::1]"].map((h) => `${h}:${port}`));
    const shown = host.includes(":") ? `[${host}]` : host;
    return {
      url: `http://${shown}:${port}/`,
      server,
      uploads,
      async close() {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await queue.idle();
        await uploads.dispose();
      },
    };
  } catch (err) {
    await uploads.dispose();
    throw err;
  }
}
