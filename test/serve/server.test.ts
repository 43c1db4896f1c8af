/**
 * `simclip serve`'s reliability and security: every kind of bad upload is refused with a
 * message and leaves nothing behind; client names are never paths; bad and failing jobs are answered
 * and the server goes on; a storm of concurrent requests (127.0.0.1 only, bounded in count and time)
 * loses nothing and gives predict's scores; the uploads' directory goes when the process ends.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import sharp from "sharp";
import { loadCheckpoint } from "../../src/models/common/checkpoint.js";
import { predictImages } from "../../src/models/common/predict.js";
import { createMethod } from "../../src/models/registry.js";
import { JobQueue } from "../../src/serve/queue.js";
import { QueueFullError } from "../../src/serve/errors.js";
import { CATEGORY, LAYERS, MAIN, TINY, serveFixture, startFixtureServer, type ServeFixture } from "./fixture.js";

let f: ServeFixture;
let server: Awaited<ReturnType<typeof startFixtureServer>>;
const MAX_BYTES = 64 * 1024;
const MAX_PIXELS = 1_000_000;

before(async () => {
  f = await serveFixture();
  server = await startFixtureServer(f, { limits: { maxBytes: MAX_BYTES, maxPixels: MAX_PIXELS } });
});

after(async () => {
  await server.close();
  assert.equal(existsSync(server.uploads.dir), false, "close() removes the uploads' directory");
  await f.dispose();
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(route: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(new URL(route, server.url), init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const upload = (bytes: Buffer | Uint8Array, name = "x.png") =>
  call("/api/uploads", { method: "POST", body: bytes, headers: { "x-file-name": encodeURIComponent(name) } });
const submit = (job: unknown) =>
  call("/api/jobs", { method: "POST", body: typeof job === "string" ? job : JSON.stringify(job), headers: { "content-type": "application/json" } });

async function uploadFile(file: string): Promise<string> {
  const r = await upload(await readFile(file), path.basename(file));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

/** Polls a job until it has finished (bounded: 120 s). */
async function finished(id: string): Promise<Answer> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = await call(`/api/jobs/${id}`);
    if (r.body.state === "done" || r.body.state === "failed") return r;
    assert.ok(Date.now() < deadline, `job ${id} still ${r.body.state} after 120 s`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

const scoresOf = (r: Answer) => (r.body.result as { images: { score: number }[] }).images.map((i) => i.score);

async function storedFiles(): Promise<string[]> {
  return readdir(server.uploads.dir);
}

function assertRefused(r: Answer, status: number, pattern: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(String(r.body.error), pattern);
}

test("each bad upload is refused with what was expected and found, and nothing is kept", async () => {
  const before = await storedFiles();
  const png = await readFile(f.images.normal);
  assertRefused(await upload(Buffer.alloc(0), "empty.png"), 400, /"empty\.png" is empty: expected a PNG, JPEG, TIFF or WebP image/);
  assertRefused(
    await upload(Buffer.alloc(MAX_BYTES + 1, 7), "big.png"),
    413,
    new RegExp(`"big\\.png" is ${MAX_BYTES + 1} bytes: the server takes uploads of at most ${MAX_BYTES} bytes`),
  );
  // Far past the limit (announced by Content-Length): refused before the body is read.
  assertRefused(
    await upload(Buffer.alloc(8 * MAX_BYTES + 2 * 1024 * 1024, 7), "huge.png"),
    413,
    /"huge\.png" is \d+ bytes: the server takes uploads of at most/,
  );
  assertRefused(
    await upload(Buffer.from("name,score\na,1\n"), "table.csv"),
    415,
    /"table\.csv" is not an image: expected a PNG, JPEG, TIFF or WebP image, and sharp cannot read it/,
  );
  const gif = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#f00" } })
    .gif()
    .toBuffer();
  assertRefused(await upload(gif, "anim.gif"), 415, /"anim\.gif" is a gif file: expected a PNG, JPEG, TIFF or WebP image/);
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><image href="file:///etc/passwd"/></svg>');
  assertRefused(await upload(svg, "x.svg"), 415, /"x\.svg" is (a svg file|not an image): expected a PNG, JPEG, TIFF or WebP image/);
  assertRefused(await upload(png.subarray(0, Math.floor(png.length / 2)), "cut.png"), 422, /"cut\.png" is a damaged PNG image: sharp cannot decode its pixels/);
  // A few hundred bytes that decode to millions of pixels.
  const bomb = await sharp({ create: { width: 2000, height: 2000, channels: 3, background: "#000" } })
    .png()
    .toBuffer();
  assert.ok(bomb.length < MAX_BYTES);
  assertRefused(await upload(bomb, "bomb.png"), 413, /"bomb\.png" is 2000 x 2000 = 4000000 pixels: the server takes images of at most 1000000 pixels/);
  assert.deepEqual(await storedFiles(), before, "no refused upload left a file");
});

test("a client's file name is shown, never used as a path", async () => {
  const png = await readFile(f.images.normal);
  for (const name of ["../../escape.png", "..\\..\\escape.png", "/tmp/escape.png", "a\u0000b/../escape.png"]) {
    const r = await upload(png, name);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.name, "escape.png");
    assert.match(r.body.id as string, /^[0-9a-f-]{36}$/);
  }
  for (const file of await storedFiles()) assert.match(file, /^[0-9a-f-]{36}\.png$/);
  for (const where of [path.resolve(server.uploads.dir, "../../escape.png"), path.resolve(server.uploads.dir, "../escape.png"), "/tmp/escape.png"]) {
    assert.equal(existsSync(where), false, `${where} was written`);
  }
  // Ids are looked up, not joined to a path.
  assertRefused(
    await submit({ method: "simclip", category: "x", layers: LAYERS, queries: ["../../../etc/passwd"] }),
    400,
    /expected an upload id \(a UUID the server returned\), found "..\/..\/..\/etc\/passwd"/,
  );
  assertRefused(await call("/api/samples/..%2F..%2Fetc%2Fpasswd"), 404, /no sample/);
  assertRefused(await call("/../../etc/passwd"), 404, /no page/);
});

test("bad job requests, a job failing inside and broken connections are answered; the server goes on", async () => {
  const a = await uploadFile(f.images.anomalous);
  const r = await uploadFile(f.images.reference);
  assertRefused(await submit("{not json"), 400, /the job request is not JSON/);
  assertRefused(
    await submit({ method: "patchcore", category: "x", layers: LAYERS, queries: [a] }),
    400,
    /method must be one of simclip, simclip\+; got "patchcore"/,
  );
  assertRefused(await submit({ method: "simclip", category: "", layers: LAYERS, queries: [a] }), 400, /the class name must be 1 to 100 characters/);
  assertRefused(
    await submit({ method: "simclip", category: "x", layers: [2, 7], queries: [a] }),
    400,
    /layers must be one or more of 1, 2, 3, 4 \(the checkpoint's\), each once; got \[2,7\]/,
  );
  assertRefused(await submit({ method: "simclip", category: "x", layers: LAYERS, queries: [] }), 400, /no images to score/);
  assertRefused(
    await submit({ method: "simclip", category: "x", layers: LAYERS, queries: ["00000000-0000-4000-8000-000000000000"] }),
    404,
    /is not on the server .*upload the image again/,
  );
  assertRefused(await submit({ method: "simclip+", category: "x", layers: LAYERS, queries: [a] }), 400, /SimCLIP\+ is few-shot: add at least one normal image/);
  assertRefused(
    await submit({ method: "simclip", category: "x", layers: LAYERS, queries: [a], references: [r] }),
    400,
    /SimCLIP is zero-shot and takes no reference images/,
  );
  assertRefused(await call("/api/jobs/nope"), 404, /no job nope/);
  assertRefused(await call("/api/nothing"), 404, /no API route GET \/api\/nothing/);
  const wrongHost = await new Promise<number>((resolve, reject) => {
    http
      .get(new URL("/api/info", server.url), { headers: { host: "attacker.example:80" } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on("error", reject);
  });
  assert.equal(wrongHost, 403, "a DNS-rebound Host name is refused");

  // An upload cut off mid-body, and garbage instead of HTTP.
  await new Promise<void>((resolve) => {
    const req = http.request(new URL("/api/uploads", server.url), { method: "POST", headers: { "content-length": "100000" } });
    req.on("error", () => resolve());
    req.write(Buffer.alloc(1000));
    setTimeout(() => req.destroy(), 50);
  });
  await new Promise<void>((resolve) => {
    const socket: net.Socket = net.connect(Number(new URL(server.url).port), "127.0.0.1", () => socket.end("NOT HTTP AT ALL\r\n\r\n"));
    socket.on("close", () => resolve());
    socket.on("error", () => resolve());
  });

  // A job whose image vanished behind the server's back fails with a message; the next one runs.
  const doomed = await uploadFile(f.images.normal);
  await rm(path.join(server.uploads.dir, `${doomed}.png`));
  const failed = await finished((await submit({ method: "simclip", category: CATEGORY, layers: LAYERS, queries: [doomed] })).body.id as string);
  assert.equal(failed.body.state, "failed");
  assert.match(String(failed.body.error), new RegExp(`MissingFileError: "nut_normal\\.png" \\(upload ${doomed}\\): image file not found`));
  const ok = await finished((await submit({ method: "simclip", category: CATEGORY, layers: LAYERS, queries: [a] })).body.id as string);
  assert.equal(ok.body.state, "done", JSON.stringify(ok.body.error));
  assert.equal((await call("/api/info")).status, 200);
});

test("a storm of concurrent uploads and jobs on 127.0.0.1: all queued, none lost, each with predict's scores", { timeout: 240_000 }, async () => {
  const JOBS = 24;
  const ckpt = await loadCheckpoint(f.checkpointDir);
  const expected = async (name: "simclip" | "simclip+") => {
    const m = await createMethod(name, { backbone: f.model, checkpoint: ckpt });
    try {
      const refs = name === "simclip+" ? [f.images.reference] : [];
      return (await predictImages(m, f.model, [f.images.anomalous, f.images.normal], CATEGORY, { references: refs })).map((p) => p.score);
    } finally {
      m.dispose?.();
    }
  };
  const want = { simclip: await expected("simclip"), "simclip+": await expected("simclip+") };

  // Every job uploads its own copies at the same moment as all the others, then submits.
  const t0 = Date.now();
  const submitted = await Promise.all(
    Array.from({ length: JOBS }, async (_, i) => {
      const method = i % 2 === 0 ? "simclip" : "simclip+";
      const [q1, q2, ref] = await Promise.all([f.images.anomalous, f.images.normal, f.images.reference].map(uploadFile));
      const r = await submit({ method, category: CATEGORY, layers: LAYERS, queries: [q1, q2], references: method === "simclip+" ? [ref] : [] });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return { method, id: r.body.id as string, ahead: r.body.ahead as number };
    }),
  );
  assert.ok(
    submitted.some((s) => s.ahead > 0),
    "some jobs had to wait behind others",
  );
  const results = await Promise.all(submitted.map(async (s) => ({ ...s, answer: await finished(s.id) })));
  for (const { method, id, answer } of results) {
    assert.equal(answer.body.state, "done", `${id}: ${String(answer.body.error)}`);
    assert.deepEqual(scoresOf(answer), want[method as "simclip" | "simclip+"], `${method} job ${id}`);
  }
  assert.ok(Date.now() - t0 < 200_000);
  assert.equal(new Set(results.map((r) => r.id)).size, JOBS);
});

test("the queue runs jobs in order, one at a time; a failing job does not stop it; beyond its limit it refuses with a message", async () => {
  const q = new JobQueue<number>({ maxWaiting: 2, keepFinished: 10, log: () => {} });
  const order: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((res) => (release = res));
  let cleaned = 0;
  const first = q.submit(
    async () => {
      order.push("first");
      await gate;
      return 1;
    },
    () => cleaned++,
  );
  await Promise.resolve();
  await Promise.resolve();
  const bad = q.submit(
    async () => {
      order.push("bad");
      throw new Error("boom");
    },
    () => cleaned++,
  );
  const third = q.submit(
    async () => {
      order.push("third");
      return 3;
    },
    () => cleaned++,
  );
  assert.equal(q.ahead(third), 2);
  assert.throws(
    () => q.submit(async () => 4),
    (e: unknown) => e instanceof QueueFullError && /already has 2 jobs waiting \(its --max-queue\)/.test(e.message),
  );
  release();
  await q.idle();
  assert.deepEqual(order, ["first", "bad", "third"]);
  assert.deepEqual([first.state, first.result, bad.state, third.state, third.result], ["done", 1, "failed", "done", 3]);
  assert.match(bad.error!, /internal error: boom/);
  assert.equal(cleaned, 3);
});

test("simclip serve listens on 127.0.0.1 and removes its uploads' directory when stopped", { timeout: 120_000 }, async () => {
  const tmpdir = await mkdtemp(path.join(f.tmp, "process-tmp-"));
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "serve", "--model", TINY, "--checkpoint", f.checkpointDir, "--port", "0"], {
    env: { ...process.env, TMPDIR: tmpdir, SIMCLIP_QUIET: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  // tsx keeps its own cache in the temporary directory too: only the server's directories count.
  const serveDirs = async () => (await readdir(tmpdir)).filter((d) => d.startsWith("simclip-serve-"));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      exited.then((code) => reject(new Error(`simclip serve exited (${code}) before listening:\n${stderr}`)));
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const res = await fetch(new URL("/api/uploads", url), { method: "POST", body: await readFile(f.images.normal), headers: { "x-file-name": "n.png" } });
    assert.equal(res.status, 201);
    const dirs = await serveDirs();
    assert.equal(dirs.length, 1);
    assert.equal((await readdir(path.join(tmpdir, dirs[0]!))).length, 1, "the upload is in the temporary directory");
    child.kill("SIGTERM");
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(await serveDirs(), [], "the temporary directory is gone");
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});
