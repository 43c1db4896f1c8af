/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * `simclip serve`'s page in a real browser: headless Chromium loads the
 * page, uploads two synthetic images and a reference, waits for the maps, and the scores it shows
 * equal `simclip predict`'s for the same inputs; the threshold slider redraws the mask; a screenshot
 * shows a drawn map. Skipped, with the reason, where Chromium is missing, unless
 * SIMCLIP_REQUIRE_NOTEBOOKS=1 (CI), which turns that into a failure.
 */
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import path from "node:path";
import puppeteer, { type Browser, type ElementHandle, type Page } from "puppeteer-core";
import sharp from "sharp";
import { readNpy } from "../../src/viz/npy.js";
import { jetColor } from "../../src/viz/colormap.js";
import { CATEGORY, LAYERS, S, TINY, cliPredict, serveFixture, startFixtureServer, type ServeFixture } from "./fixture.js";

const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";
let f: ServeFixture;
let server: Awaited<ReturnType<typeof startFixtureServer>>;
let browser: Browser | undefined;

before(async () => {
  f = await serveFixture();
  server = await startFixtureServer(f);
});

after(async () => {
  await browser?.close();
  await server.close();
  await f.dispose();
});

/** Skips (or, in CI, fails) without Chromium; true when the test may run. */
function chromiumOrSkip(t: TestContext): boolean {
  if (existsSync(chromium)) return true;
  const why = `chromium is not installed at ${chromium} (Debian: apt-get install chromium; or set CHROMIUM)`;
  assert.notEqual(process.env.SIMCLIP_REQUIRE_NOTEBOOKS, "1", `SIMCLIP_REQUIRE_NOTEBOOKS=1 but ${why}`);
  t.skip(why);
  return false;
}

async function openPage(): Promise<Page> {
  browser ??= await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir: await mkdtemp(path.join(f.tmp, "chromium-profile-")),
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1400 });
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(String(e)));
  await page.goto(server.url);
  await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
  assert.deepEqual(problems, []);
  return page;
}

/** Runs the page's current inputs and returns the run's shown scores by image name; a failed run fails with the page's message. */
async function runAndRead(page: Page, runNumber: number): Promise<Map<string, number>> {
  await page.click("#run");
  const sel = `.run[data-run='${runNumber}']`;
  await page.waitForSelector(`${sel}[data-state='done'], ${sel}[data-state='failed']`, { timeout: 120_000 });
  const error = await page.$eval(sel, (e) => (e.getAttribute("data-state") === "failed" ? (e.querySelector(".error")?.textContent ?? "no message") : null));
  assert.equal(error, null, `the page's run ${runNumber} failed: ${error}`);
  const cards = await page.$$eval(`${sel} .card`, (cs) =>
    cs.map((c) => [c.getAttribute("data-name")!, Number(c.querySelector(".score")!.getAttribute("data-score"))] as const),
  );
  return new Map(cards);
}

async function uploadInto(page: Page, input: string, files: string[], listSelector: string, expected: number): Promise<void> {
  const handle = (await page.$(input)) as ElementHandle<HTMLInputElement>;
  await handle.uploadFile(...files);
  await page.waitForFunction((sel, n) => document.querySelectorAll(`${sel} li[data-upload]`).length === n, { timeout: 30_000 }, listSelector, expected);
}

test("the page scores two synthetic images with a reference as simclip predict does, redraws the mask, and draws the map", { timeout: 300_000 }, async (t) => {
  if (!chromiumOrSkip(t)) return;
  const page = await openPage();
  assert.equal(
    await page.$eval("#random-warning", (e) => (e as HTMLElement).hidden),
    true,
    "the tiny fixture is not a demo model, so no random-backbone warning",
  );
  assert.deepEqual(await page.$$eval("#layers input", (is) => is.map((i) => Number((i as HTMLInputElement).value))), LAYERS);

  await page.click("input[name=method][value='simclip+']");
  assert.equal(await page.$eval("#plus-note", (e) => (e as HTMLElement).hidden), false, "the page says how SimCLIP+ scores a run");
  await page.$eval("#category", (e, c) => ((e as HTMLInputElement).value = c), CATEGORY);
  await uploadInto(page, "#queries-input", [f.images.anomalous, f.images.normal], "#queries-list", 2);
  await uploadInto(page, "#references-input", [f.images.reference], "#references-list", 1);
  const shown = await runAndRead(page, 1);

  const outDir = path.join(f.tmp, "predict-plus");
  const predicted = await cliPredict(
    [
      "--method",
      "simclip+",
      "--model",
      TINY,
      "--checkpoint",
      f.checkpointDir,
      "--category",
      CATEGORY,
      f.images.anomalous,
      f.images.normal,
      "--references",
      f.images.reference,
    ],
    outDir,
    ["nut_anomalous", "nut_normal"],
  );
  assert.deepEqual([...shown.keys()], ["nut_anomalous.png", "nut_normal.png"]);
  for (const [name, p] of predicted) assert.equal(shown.get(`${name}.png`), p.score, `${name}: page ${shown.get(`${name}.png`)} vs predict ${p.score}`);
  // Two queries of one class: min-max makes one map term 1 and the other 0, so the scores differ.
  assert.notEqual(shown.get("nut_anomalous.png"), shown.get("nut_normal.png"));

  // The map canvas holds predict's raw map in predict's colours (0 to #layers as full scale).
  const npy = await readNpy(path.join(outDir, "nut_anomalous_map.npy"));
  const card = ".run[data-run='1'] .card[data-name='nut_anomalous.png']";
  const canvasPixels = (selector: string) =>
    page.$eval(selector, (c) =>
      Array.from((c as HTMLCanvasElement).getContext("2d")!.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height).data),
    );
  const mapPixels = await canvasPixels(`${card} .map-canvas`);
  assert.equal(mapPixels.length, S * S * 4);
  let off = 0;
  npy.data.forEach((v, i) => {
    const want = jetColor(Math.min(1, Math.max(0, v / LAYERS.length)));
    for (let k = 0; k < 3; k++) off = Math.max(off, Math.abs(mapPixels[i * 4 + k]! - want[k]!));
  });
  assert.ok(off <= 1, `map canvas differs from predict's map in jet colours by up to ${off} levels`);

  // The slider: moved with the keyboard as a user would; the mask is exactly map >= threshold.
  const lo = npy.data.reduce((a, b) => Math.min(a, b));
  const hi = npy.data.reduce((a, b) => Math.max(a, b));
  const slider = `.run[data-run='1'] .threshold`;
  const whiteAt = async () => {
    const t = Number(await page.$eval(slider, (e) => (e as HTMLInputElement).value));
    const px = await canvasPixels(`${card} .mask-canvas`);
    let white = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i] === 255) white++;
    return { t, white };
  };
  await page.focus(slider);
  await page.keyboard.press("Home");
  const atZero = await whiteAt();
  assert.deepEqual(atZero, { t: 0, white: S * S }, "threshold 0: every pixel is in the mask");
  // Step right until the threshold is inside the map's range, so the mask is neither empty nor full.
  let moved = atZero;
  for (let i = 0; i < 400 && moved.t <= (lo + hi) / 2; i++) {
    await page.keyboard.press("ArrowRight");
    moved = await whiteAt();
  }
  const want = npy.data.reduce((n, v) => n + (v >= moved.t ? 1 : 0), 0);
  assert.ok(moved.t > lo && moved.t < hi, `threshold ${moved.t} inside the map range [${lo}, ${hi}]`);
  assert.equal(moved.white, want, `mask at threshold ${moved.t}: ${moved.white} white pixels, predict's map has ${want} values >= it`);
  assert.ok(want > 0 && want < S * S);

  // The download links give predict's own files, byte for byte.
  const links = await page.$$eval(`${card} .downloads a`, (as) =>
    as.map((a) => [a.textContent, (a as HTMLAnchorElement).href, a.hasAttribute("download")] as const),
  );
  assert.deepEqual(
    links.map(([text, , dl]) => [text, dl]),
    [
      ["raw map (.npy)", true],
      ["overlay (PNG)", true],
    ],
  );
  for (const [[, href], file] of [
    [links[0]!, "nut_anomalous_map.npy"],
    [links[1]!, "nut_anomalous_overlay.png"],
  ] as const) {
    const res = await fetch(href);
    assert.equal(res.status, 200, href);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(await readFile(path.join(outDir, file))), `${href} differs from predict's ${file}`);
    assert.match(res.headers.get("content-disposition") ?? "", new RegExp(`attachment; filename="${file.replace(".", "\\.")}"`));
  }

  // Overlays loaded from the server; per-layer maps drawn.
  await page.waitForFunction(
    () => [...document.querySelectorAll("img.overlay")].every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0),
    { timeout: 30_000 },
  );
  assert.equal(await page.$$eval(`${card} .layer-canvas`, (cs) => cs.length), LAYERS.length);

  // Screenshot of the map: a drawn jet map has many vivid, varied colours; a blank canvas has one.
  const shot = path.join(f.tmp, "page.png");
  await page.screenshot({ path: shot, fullPage: true });
  const box = (await (await page.$(`${card} .map-canvas`))!.boundingBox())!;
  const { data, info } = await sharp(shot)
    .extract({ left: Math.round(box.x), top: Math.round(box.y), width: Math.round(box.width), height: Math.round(box.height) })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const colours = new Set<number>();
  let vivid = 0;
  for (let i = 0; i < info.width * info.height; i++) {
    const [r, g, b] = [data[i * 3]!, data[i * 3 + 1]!, data[i * 3 + 2]!];
    colours.add((r << 16) | (g << 8) | b);
    if (Math.max(r, g, b) - Math.min(r, g, b) > 80) vivid++;
  }
  assert.ok(
    vivid > 0.5 * info.width * info.height && colours.size > 20,
    `map region of the screenshot: ${vivid} vivid pixels of ${info.width * info.height}, ${colours.size} colours`,
  );

  // Zero-shot on the same page: SimCLIP's scores equal predict's too; the earlier run stays.
  await page.click("input[name=method][value='simclip']");
  const zero = await runAndRead(page, 2);
  const zeroPredicted = await cliPredict(
    ["--method", "simclip", "--model", TINY, "--checkpoint", f.checkpointDir, "--category", CATEGORY, f.images.anomalous, f.images.normal],
    path.join(f.tmp, "predict-zero"),
    ["nut_anomalous", "nut_normal"],
  );
  for (const [name, p] of zeroPredicted)
    assert.equal(zero.get(`${name}.png`), p.score, `${name} zero-shot: page ${zero.get(`${name}.png`)} vs predict ${p.score}`);
  assert.equal(await page.$$eval(".run[data-state='done']", (rs) => rs.length), 2, "results of the session stay");
});

test("a bad upload and a bad run show their errors on the page", { timeout: 120_000 }, async (t) => {
  if (!chromiumOrSkip(t)) return;
  const page = await openPage();
  await uploadInto(page, "#queries-input", [f.images.normal], "#queries-list", 1);
  const handle = (await page.$("#queries-input")) as ElementHandle<HTMLInputElement>;
  await handle.uploadFile(path.join(TINY, "config.json"));
  await page.waitForSelector("#queries-list li.failed", { timeout: 30_000 });
  assert.match(
    await page.$eval("#queries-list li.failed", (e) => e.textContent ?? ""),
    /config\.json.*is not an image: expected a PNG, JPEG, TIFF or WebP image/,
  );
  // SimCLIP+ without references: refused with a message saying what to add.
  await page.click("input[name=method][value='simclip+']");
  await page.click("#run");
  await page.waitForSelector(".run[data-run='1'][data-state='failed'] .error", { timeout: 30_000 });
  assert.match(
    await page.$eval(".run[data-run='1'] .error", (e) => e.textContent ?? ""),
    /SimCLIP\+ is few-shot: add at least one normal image of the class to the References area/,
  );
  assert.ok(await page.$eval(".run[data-run='1'] .error", (e) => (e as HTMLElement).offsetHeight > 0), "the error is visible");
});
