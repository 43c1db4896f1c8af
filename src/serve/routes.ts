/**
 * The HTTP API of `simclip serve` (JSON in, JSON out) and the static page. Every handler's failure
 * becomes a JSON `{ error }` answer with a status; nothing a client sends can end the process.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { jetColor } from "../viz/colormap.js";
import { SimclipError } from "../errors.js";
import { ServeRequestError } from "./errors.js";
import { SERVE_METHODS, type InspectRequest, type InspectResult, type Inspector, type ServeMethod } from "./inspector.js";
import type { Job, JobQueue } from "./queue.js";
import { CONTROL_CHARACTERS, readBody, uploadInfo, type UploadStore } from "./uploads.js";

/** An image offered on the page as a ready-made example (the demo's synthetic benchmark). */
export interface ServeSample {
  id: string;
  name: string;
  category: string;
  /** "query": a test image to score; "reference": a normal image for SimCLIP+'s memory. */
  role: "query" | "reference";
  file: string;
}

export interface StaticFile {
  body: Buffer;
  type: string;
}

export interface ServeState {
  inspector: Inspector;
  uploads: UploadStore;
  queue: JobQueue<InspectResult>;
  samples: ServeSample[];
  pages: Map<string, StaticFile>;
  /** Class name the page starts with. */
  defaultCategory: string;
  /** Host header values accepted (undefined: any, when serving beyond the loopback interface). */
  allowedHosts?: Set<string>;
  log: (line: string) => void;
}

/** Per job, so one request cannot hold the single worker for long. */
export const MAX_QUERIES = 32;
export const MAX_REFERENCES = 16;
const MAX_JSON_BYTES = 64 * 1024;

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

function send(res: ServerResponse, status: number, body: Buffer | string, type: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": type, "content-length": Buffer.byteLength(body), "cache-control": "no-store", ...extra });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), "application/json; charset=utf-8");
}

/** `Content-Disposition` for a download named after the user's own file. */
function attachment(name: string): Record<string, string> {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return { "content-disposition": `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}` };
}

const stem = (name: string) => name.replace(/\.[^.]+$/, "") || "image";

export async function loadPages(dir: string): Promise<Map<string, StaticFile>> {
  const files: [string, string, string][] = [
    ["/", "index.html", "text/html; charset=utf-8"],
    ["/app.js", "app.js", "text/javascript; charset=utf-8"],
    ["/style.css", "style.css", "text/css; charset=utf-8"],
  ];
  const pages = new Map<string, StaticFile>();
  for (const [route, file, type] of files) pages.set(route, { body: await readFile(path.join(dir, file)), type });
  return pages;
}

export function handler(state: ServeState): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    route(state, req, res).catch((err: unknown) => {
      const status = err instanceof ServeRequestError ? err.status : err instanceof SimclipError ? 400 : 500;
      if (status === 500) state.log(`simclip serve: ${req.method} ${req.url} failed: ${(err as Error)?.stack ?? String(err)}`);
      const message =
        err instanceof SimclipError ? err.message : `internal error: ${(err as Error)?.message ?? String(err)} (the server's log has the details)`;
      if (res.headersSent) res.destroy();
      else json(res, status, { error: message });
    });
  };
}

async function route(state: ServeState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const host = req.headers.host ?? "";
  if (state.allowedHosts && !state.allowedHosts.has(host)) {
    req.resume();
    throw new ServeRequestError(
      403,
      `requests for host "${host}" are refused: this server answers ${[...state.allowedHosts].join(", ")} only (start it with --host to serve other names)`,
    );
  }
  const url = new URL(req.url ?? "/", "http://localhost");
  const parts = url.pathname.split("/").filter((p) => p.length > 0);
  const method = req.method ?? "GET";
  const page = state.pages.get(url.pathname);
  if (method === "GET" && page) return send(res, 200, page.body, page.type);
  if (parts[0] !== "api") throw new ServeRequestError(404, `no page ${url.pathname} here: open / for the inspector`);
  const at = parts.slice(1);
  if (method === "GET" && at.length === 1 && at[0] === "info") return json(res, 200, info(state));
  if (method === "POST" && at.length === 1 && at[0] === "uploads") {
    const name = headerValue(req.headers["x-file-name"]);
    const body = await readBody(req, state.uploads.limits.maxBytes, name);
    return json(res, 201, await state.uploads.add(body, name));
  }
  if (method === "GET" && at.length === 2 && at[0] === "samples") {
    const sample = state.samples.find((s) => s.id === at[1]);
    if (!sample) throw new ServeRequestError(404, `no sample "${at[1]}": the page lists the samples in /api/info`);
    return send(res, 200, await readFile(sample.file), sample.file.endsWith(".png") ? "image/png" : "image/jpeg");
  }
  if (method === "POST" && at.length === 1 && at[0] === "jobs") {
    const request = parseJob(state, await readBody(req, MAX_JSON_BYTES, "the job request"));
    const images = [...request.queries, ...request.references];
    state.uploads.pin(images);
    let job: Job<InspectResult>;
    try {
      job = state.queue.submit(
        (report) => state.inspector.run(request, report),
        () => state.uploads.unpin(images),
      );
    } catch (err) {
      state.uploads.unpin(images);
      throw err;
    }
    return json(res, 202, { id: job.id, ahead: state.queue.ahead(job) });
  }
  if (method === "GET" && at[0] === "jobs" && at.length >= 2) {
    const job = state.queue.get(at[1]!);
    if (!job) throw new ServeRequestError(404, `no job ${at[1]} on this server (it was never submitted, or finished long ago and was forgotten): run it again`);
    if (at.length === 2) return json(res, 200, jobView(state, job));
    if (at.length === 5 && at[2] === "images") return download(state, res, job, at[3]!, at[4]!);
  }
  throw new ServeRequestError(404, `no API route ${method} ${url.pathname}`);
}

function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

function info(state: ServeState) {
  const { inspector, uploads } = state;
  return {
    model: inspector.modelLabel,
    checkpoint: inspector.checkpointDir ?? null,
    randomBackbone: inspector.randomBackbone,
    size: inspector.size,
    layers: inspector.layers,
    methods: SERVE_METHODS,
    defaultCategory: state.defaultCategory,
    limits: { maxBytes: uploads.limits.maxBytes, maxPixels: uploads.limits.maxPixels, maxQueries: MAX_QUERIES, maxReferences: MAX_REFERENCES },
    samples: state.samples.map(({ id, name, category, role }) => ({ id, name, category, role })),
    // The page colours maps with the same jet table as predict's PNGs (src/viz/colormap.ts).
    jet: Array.from({ length: 256 }, (_, i) => jetColor((i + 0.5) / 256)).flat(),
  };
}

function parseJob(state: ServeState, body: Buffer): InspectRequest {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new ServeRequestError(400, `the job request is not JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== "object") throw new ServeRequestError(400, "expected the job request as a JSON object");
  const method = raw.method as ServeMethod;
  if (!SERVE_METHODS.includes(method)) throw new ServeRequestError(400, `method must be one of ${SERVE_METHODS.join(", ")}; got ${JSON.stringify(raw.method)}`);
  const category = typeof raw.category === "string" ? raw.category.replace(CONTROL_CHARACTERS, "").trim() : "";
  if (category.length === 0 || category.length > 100)
    throw new ServeRequestError(
      400,
      `the class name must be 1 to 100 characters (it goes into the prompts "a photo of a [cls] ..."); got ${JSON.stringify(raw.category)?.slice(0, 120)}`,
    );
  const layers = raw.layers;
  const known = state.inspector.layers;
  if (!Array.isArray(layers) || layers.length === 0 || layers.some((l) => !known.includes(l as number)) || new Set(layers).size !== layers.length) {
    throw new ServeRequestError(400, `layers must be one or more of ${known.join(", ")} (the checkpoint's), each once; got ${JSON.stringify(layers)}`);
  }
  const ids = (key: "queries" | "references", max: number) => {
    const v = raw[key] ?? [];
    if (!Array.isArray(v) || v.length > max)
      throw new ServeRequestError(
        400,
        `${key} must be a list of at most ${max} upload ids; got ${Array.isArray(v) ? `${v.length} of them` : JSON.stringify(v)?.slice(0, 60)}`,
      );
    return v.map((id) => state.uploads.get(id));
  };
  const queries = ids("queries", MAX_QUERIES);
  const references = ids("references", MAX_REFERENCES);
  if (queries.length === 0) throw new ServeRequestError(400, "no images to score: add at least one image to the Images area");
  if (method === "simclip+" && references.length === 0) {
    throw new ServeRequestError(400, "SimCLIP+ is few-shot: add at least one normal image of the class to the References area (or choose SimCLIP zero-shot)");
  }
  if (method === "simclip" && references.length > 0) {
    throw new ServeRequestError(
      400,
      `SimCLIP is zero-shot and takes no reference images, but ${references.length} were sent: choose SimCLIP+ or clear the References area`,
    );
  }
  // Keep the checkpoint's order, as predict's --layers list from the page does.
  return { method, category, layers: known.filter((l) => (layers as number[]).includes(l)), queries, references };
}

const b64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");

function jobView(state: ServeState, job: Job<InspectResult>) {
  const base = { id: job.id, state: job.state, ahead: state.queue.ahead(job), progress: job.progress };
  if (job.state === "failed") return { ...base, error: job.error };
  if (job.state !== "done") return base;
  const r = job.result!;
  const { request } = r;
  return {
    ...base,
    result: {
      method: request.method,
      category: request.category,
      layers: request.layers,
      size: r.size,
      mapScale: r.mapScale,
      references: request.references.map(uploadInfo),
      command: r.command,
      images: r.predictions.map((p, i) => ({
        index: i,
        upload: uploadInfo(request.queries[i]!),
        score: p.score,
        mapMax: p.map.reduce((a, b) => Math.max(a, b), -Infinity),
        // Float32 little-endian, as the browser's Float32Array reads it.
        map: b64(p.map),
        layerMaps: (p.layerMaps ?? []).map((l) => ({ layer: l.layer, map: b64(l.map) })),
      })),
    },
  };
}

async function download(state: ServeState, res: ServerResponse, job: Job<InspectResult>, indexText: string, file: string): Promise<void> {
  if (job.state !== "done") throw new ServeRequestError(409, `job ${job.id} is ${job.state}: its files exist once it is done`);
  const r = job.result!;
  const index = Number(indexText);
  if (!Number.isInteger(index) || index < 0 || index >= r.predictions.length) {
    throw new ServeRequestError(404, `job ${job.id} has images 0 to ${r.predictions.length - 1}; got ${JSON.stringify(indexText)}`);
  }
  if (file !== "map.npy" && file !== "overlay.png") throw new ServeRequestError(404, `no file "${file}" for a result image: map.npy or overlay.png`);
  const name = stem(r.request.queries[index]!.name);
  // The image must still be there for the overlay; get() says so if it was removed to make room.
  state.uploads.get(r.request.queries[index]!.id);
  const rendered = await state.inspector.render(r, index);
  if (file === "map.npy") return send(res, 200, rendered.npy, "application/octet-stream", attachment(`${name}_map.npy`));
  return send(res, 200, rendered.overlayPng, "image/png", attachment(`${name}_overlay.png`));
}
