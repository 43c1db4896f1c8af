import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError, MissingFileError } from "../../src/errors.js";
import { HF_MODEL_FILES, HubDownloadError, resolveModelDir } from "../../src/clip/hub.js";
import { loadClipDir } from "../../src/clip/weights.js";

const TINY = join(import.meta.dirname, "..", "fixtures", "clip-tiny");

/** A loopback stand-in for huggingface.co: /<id>/resolve/main/<file>, LFS files via a redirect. */
async function fakeHub(opts: { missing?: string } = {}) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = req.url ?? "";
    requests.push(url);
    const cdn = /^\/cdn\/(.+)$/.exec(url);
    if (cdn) {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(readFileSync(join(TINY, cdn[1]!)));
      return;
    }
    const m = /^\/test-org\/clip-tiny\/resolve\/main\/(.+)$/.exec(url);
    const file = m?.[1];
    if (!file || file === opts.missing || !(HF_MODEL_FILES as readonly string[]).includes(file)) {
      res.writeHead(404).end("Entry not found");
      return;
    }
    if (file.endsWith(".safetensors")) {
      res.writeHead(302, { location: `/cdn/${file}` }).end();
      return;
    }
    res.writeHead(200).end(readFileSync(join(TINY, file)));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { endpoint, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test("a model id is downloaded into the cache once, then served from it", async () => {
  const hub = await fakeHub();
  const cacheDir = mkdtempSync(join(tmpdir(), "simclip-hub-"));
  try {
    const dir = await resolveModelDir("test-org/clip-tiny", { cacheDir, endpoint: hub.endpoint });
    assert.equal(dir, join(cacheDir, "models--test-org--clip-tiny", "main"));
    for (const f of HF_MODEL_FILES) assert.ok(readFileSync(join(dir, f)).equals(readFileSync(join(TINY, f))), f);
    assert.deepEqual(readdirSync(dir).sort(), [...HF_MODEL_FILES].sort(), "no temporary files left");
    const loaded = await loadClipDir(dir);
    assert.equal(loaded.config.vision.width, 128);
    const before = hub.requests.length;
    assert.equal(await resolveModelDir("test-org/clip-tiny", { cacheDir, endpoint: hub.endpoint }), dir);
    assert.equal(hub.requests.length, before, "nothing fetched when every file is cached");
  } finally {
    await hub.close();
  }
});

test("an existing directory is used as is; a file or a non-id path is an error", async () => {
  assert.equal(await resolveModelDir(TINY, { endpoint: "http://127.0.0.1:9" }), TINY);
  await assert.rejects(resolveModelDir(join(TINY, "config.json")), InvalidArgumentError);
  await assert.rejects(resolveModelDir("./no/such/model/dir"), (e: unknown) => e instanceof MissingFileError && !(e instanceof HubDownloadError));
});

test("offline or HTTP errors say which files to place where, and leave no partial file", async () => {
  const hub = await fakeHub({ missing: "merges.txt" });
  const cacheDir = mkdtempSync(join(tmpdir(), "simclip-hub-"));
  try {
    await assert.rejects(resolveModelDir("test-org/clip-tiny", { cacheDir, endpoint: hub.endpoint }), (e: unknown) => {
      assert.ok(e instanceof HubDownloadError);
      assert.match(e.message, /could not download merges\.txt .*HTTP 404/);
      assert.match(e.message, new RegExp(`place them in ${join(cacheDir, "models--test-org--clip-tiny", "main").replace(/[/\\]/g, ".")}`));
      return true;
    });
    const dir = join(cacheDir, "models--test-org--clip-tiny", "main");
    assert.equal(existsSync(join(dir, "merges.txt")), false);
    assert.ok(readdirSync(dir).every((f) => !f.includes(".download-")));
  } finally {
    await hub.close();
  }
  // A closed port: the connection is refused, as when offline.
  const offline = mkdtempSync(join(tmpdir(), "simclip-hub-"));
  await assert.rejects(resolveModelDir("openai/clip-vit-large-patch14-336", { cacheDir: offline, endpoint: hub.endpoint }), (e: unknown) => {
    assert.ok(e instanceof HubDownloadError);
    assert.match(e.message, /could not download config\.json .*ECONNREFUSED/);
    assert.match(e.message, /config\.json, model\.safetensors, vocab\.json, merges\.txt, preprocessor_config\.json/);
    return true;
  });
});
