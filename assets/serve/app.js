// The page of `simclip serve` (src/serve/): uploads images, submits jobs, polls their progress and
// draws the results. Plain browser JavaScript, served as is: nothing to build. Every error the
// server or the browser reports is shown on the page.

const $ = (id) => document.getElementById(id);
const POLL_MS = 250;

const state = {
  info: null,
  /** Uploaded images per area: { id, name, url } (url: the local copy, for thumbnails). */
  queries: [],
  references: [],
  runs: 0,
  /** Every drawn map, redrawn when the colour scale changes: { canvas, map, size, scale }. */
  maps: [],
};

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function showError(message) {
  $("errors").append(el("li", { text: message }));
}

/** The server's JSON answer, or an Error carrying its `error` message (or what went wrong on the way). */
async function api(path, options = {}) {
  let res;
  try {
    res = await fetch(path, options);
  } catch (e) {
    throw new Error(`the server did not answer ${path} (${e.message}): is simclip serve still running?`);
  }
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${path}: HTTP ${res.status}, not a JSON answer: ${text.slice(0, 200)}`);
  }
  if (!res.ok) throw new Error(body.error ?? `${path}: HTTP ${res.status}`);
  return body;
}

function method() {
  return document.querySelector("input[name=method]:checked").value;
}

function updateMethod() {
  const plus = method() === "simclip+";
  $("references-zone").classList.toggle("disabled", !plus);
  $("plus-note").hidden = !plus;
}

// ---- uploads ---------------------------------------------------------------------------------

async function upload(file, role) {
  const list = $(role === "query" ? "queries-list" : "references-list");
  const item = el("li", {}, el("span", { text: `uploading ${file.name}…` }));
  list.append(item);
  // Its place is taken now, so the images keep the order they were given in whatever order uploads finish.
  const entry = { id: null, name: file.name, url: URL.createObjectURL(file) };
  const arr = role === "query" ? state.queries : state.references;
  arr.push(entry);
  try {
    const info = await api("/api/uploads", {
      method: "POST",
      headers: { "x-file-name": encodeURIComponent(file.name), "content-type": "application/octet-stream" },
      body: file,
    });
    entry.id = info.id;
    entry.name = info.name;
    const remove = el("button", { type: "button", title: "remove", text: "×" });
    remove.addEventListener("click", () => {
      const i = arr.indexOf(entry);
      if (i >= 0) arr.splice(i, 1);
      item.remove();
    });
    item.replaceChildren(el("img", { src: entry.url, alt: info.name }), el("span", { text: info.name }), remove);
    item.dataset.upload = info.id;
  } catch (e) {
    const i = arr.indexOf(entry);
    if (i >= 0) arr.splice(i, 1);
    item.className = "failed";
    item.replaceChildren(el("span", { text: `${file.name}: ${e.message}` }));
  }
}

function setupZone(zone, input, role) {
  const add = (files) => Promise.all([...files].map((f) => upload(f, role)));
  input.addEventListener("change", () => {
    add(input.files).finally(() => (input.value = ""));
  });
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    add(e.dataTransfer.files);
  });
}

async function addSamples() {
  const button = $("add-samples");
  const category = $("sample-category").value;
  const picked = state.info.samples.filter((s) => s.category === category);
  $("category").value = category;
  button.disabled = true;
  try {
    for (const s of picked) {
      try {
        const res = await fetch(`/api/samples/${encodeURIComponent(s.id)}`);
        if (!res.ok) throw new Error((await res.json()).error);
        const blob = await res.blob();
        await upload(new File([blob], s.name, { type: blob.type }), s.role);
      } catch (e) {
        showError(`sample ${s.name}: ${e.message}`);
      }
    }
  } finally {
    button.disabled = false;
  }
}

// ---- runs ------------------------------------------------------------------------------------

function selectedLayers() {
  return [...document.querySelectorAll("#layers input:checked")].map((i) => Number(i.value));
}

async function run() {
  $("errors").replaceChildren();
  const pending = [...state.queries, ...state.references].filter((u) => u.id === null).length;
  if (pending > 0) {
    showError(`${pending} image(s) are still uploading: run again once they show their thumbnails`);
    return;
  }
  const m = method();
  const request = {
    method: m,
    category: $("category").value,
    layers: selectedLayers(),
    queries: state.queries.map((q) => q.id),
    references: m === "simclip+" ? state.references.map((r) => r.id) : [],
  };
  const local = new Map([...state.queries, ...state.references].map((u) => [u.id, u.url]));
  const n = ++state.runs;
  const box = el("div", { class: "run", "data-run": String(n), "data-state": "submitting" });
  const title = el("h3", {
    text: `Run ${n}: ${m}, class "${request.category}", layers ${request.layers.join(",")}, ${request.queries.length} image(s)${m === "simclip+" ? `, ${request.references.length} reference(s)` : ""}`,
  });
  const bar = el("progress");
  const stage = el("span", { text: "submitting…" });
  box.append(title, el("div", { class: "progress" }, bar, stage));
  $("results").prepend(box);
  try {
    const job = await api("/api/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) });
    box.dataset.job = job.id;
    for (;;) {
      const s = await api(`/api/jobs/${job.id}`);
      box.dataset.state = s.state;
      if (s.state === "done") {
        box.querySelector(".progress").remove();
        showResult(box, job.id, s.result, local);
        return;
      }
      if (s.state === "failed") throw new Error(s.error);
      const p = s.progress;
      if (s.state === "queued") stage.textContent = `waiting: ${s.ahead} job(s) before this one`;
      else stage.textContent = p.total ? `${p.stage}: ${p.done} / ${p.total}` : p.stage;
      if (p.total) {
        bar.max = p.total;
        bar.value = p.done;
      } else bar.removeAttribute("value");
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } catch (e) {
    box.dataset.state = "failed";
    box.querySelector(".progress")?.remove();
    box.append(el("p", { class: "error", text: e.message }));
  }
}

function decodeMap(b64) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

/**
 * `map` (S x S) in jet colours: 0 to `scale` as full range (as predict's PNGs), or the map's own
 * minimum to maximum when the page's colour scale says so.
 */
function drawMap(canvas, map, size, scale) {
  let lo = 0;
  let hi = scale;
  if ($("colour-scale").value === "image") {
    lo = map.reduce((a, b) => Math.min(a, b), Infinity);
    hi = map.reduce((a, b) => Math.max(a, b), -Infinity);
  }
  const span = hi > lo ? hi - lo : 1;
  const jet = state.info.jet;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(size, size);
  for (let i = 0; i < map.length; i++) {
    const x = Math.min(1, Math.max(0, (map[i] - lo) / span));
    const k = Math.min(255, Math.floor(x * 256)) * 3;
    img.data.set([jet[k], jet[k + 1], jet[k + 2], 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
}

/** White where the map reaches the threshold; returns the fraction of such pixels. */
function drawMask(canvas, map, size, threshold) {
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(size, size);
  let on = 0;
  for (let i = 0; i < map.length; i++) {
    const v = map[i] >= threshold ? 255 : 0;
    if (v) on++;
    img.data.set([v, v, v, 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  return on / map.length;
}

/** A canvas showing `map`, kept in `state.maps` to be redrawn with the colour scale. */
function mapCanvas(map, size, scale, cls) {
  const canvas = el("canvas", { class: cls, width: String(size), height: String(size) });
  drawMap(canvas, map, size, scale);
  state.maps.push({ canvas, map, size, scale });
  return canvas;
}

function showResult(box, jobId, r, local) {
  const S = r.size;
  box.append(
    el("p", {
      class: "meta",
      text: `${r.method} on layers ${r.layers.join(",")}, ${S} x ${S}; maps drawn on a 0 to ${r.mapScale} scale (predict's --map-max default)`,
    }),
    el("p", { class: "meta" }, "Same as: ", el("code", { text: r.command })),
  );
  if (r.method === "simclip+") {
    box.append(
      el("p", {
        class: "meta",
        text: `Scored as one class over these ${r.images.length} image(s) with ${r.references.length} reference(s), as predict does for one call.`,
      }),
    );
  }
  const maps = r.images.map((im) => decodeMap(im.map));
  const lows = maps.map((m) => m.reduce((a, b) => Math.min(a, b), Infinity));
  const top = Math.max(r.mapScale, ...r.images.map((im) => im.mapMax));
  // Start halfway between the run's lowest value and its highest maximum, so the mask shows something.
  const start = (Math.min(...lows) + Math.max(...r.images.map((im) => im.mapMax))) / 2;
  const slider = el("input", { type: "range", class: "threshold", min: "0", max: String(top), step: String(top / 400), value: String(start) });
  const value = el("span", { class: "threshold-value" });
  box.append(el("div", { class: "threshold-row" }, el("label", { text: "mask threshold" }), slider, value));
  const masks = [];
  const cards = el("div", { class: "cards" });
  for (const [i, im] of r.images.entries()) {
    const map = maps[i];
    const base = `/api/jobs/${jobId}/images/${im.index}`;
    const maskCanvas = el("canvas", { class: "mask-canvas", width: String(S), height: String(S) });
    const share = el("span");
    masks.push({ canvas: maskCanvas, map, share });
    const views = el(
      "div",
      { class: "views" },
      el("figure", {}, el("img", { src: local.get(im.upload.id) ?? "", alt: im.upload.name }), el("figcaption", { text: "image" })),
      el("figure", {}, mapCanvas(map, S, r.mapScale, "map-canvas"), el("figcaption", { text: `anomaly map (max ${im.mapMax.toFixed(3)})` })),
      el("figure", {}, el("img", { class: "overlay", src: `${base}/overlay.png`, alt: `overlay of ${im.upload.name}` }), el("figcaption", { text: "overlay" })),
      el("figure", {}, maskCanvas, el("figcaption", {}, "mask ", share)),
    );
    const layers = el("div", { class: "layers-row" });
    for (const l of im.layerMaps) {
      layers.append(el("figure", {}, mapCanvas(decodeMap(l.map), S, 1, "layer-canvas"), el("figcaption", { text: `layer ${l.layer}` })));
    }
    const layerNote =
      r.method === "simclip+"
        ? "SimCLIP's zero-shot map of each layer (0 to 1), under the few-shot map"
        : "each layer's map (0 to 1); they add up to the anomaly map";
    cards.append(
      el(
        "div",
        { class: "card", "data-name": im.upload.name },
        el("h4", {}, `${im.upload.name}: score `, el("span", { class: "score", "data-score": String(im.score), text: im.score.toFixed(4) })),
        views,
        el("p", { class: "meta", text: layerNote }),
        layers,
        el(
          "div",
          { class: "downloads" },
          el("a", { href: `${base}/map.npy`, download: "", text: "raw map (.npy)" }),
          el("a", { href: `${base}/overlay.png`, download: "", text: "overlay (PNG)" }),
        ),
      ),
    );
  }
  const redraw = () => {
    const t = Number(slider.value);
    value.textContent = t.toFixed(3);
    for (const m of masks) m.share.textContent = `(${(100 * drawMask(m.canvas, m.map, S, t)).toFixed(1)}% ≥ ${t.toFixed(3)})`;
  };
  slider.addEventListener("input", redraw);
  redraw();
  box.append(cards);
}

// ---- start -----------------------------------------------------------------------------------

async function start() {
  const info = await api("/api/info");
  state.info = info;
  $("about").textContent =
    `model ${info.model}; ${info.checkpoint ? `checkpoint ${info.checkpoint}` : "no checkpoint: an untrained SimCLIP"}; ` +
    `input ${info.size} px; uploads up to ${(info.limits.maxBytes / 1048576).toFixed(0)} MB, PNG / JPEG / TIFF / WebP`;
  $("random-warning").hidden = !info.randomBackbone;
  $("category").value = info.defaultCategory;
  for (const l of info.layers) {
    $("layers").append(el("label", {}, el("input", { type: "checkbox", value: String(l), checked: "" }), ` ${l}`));
  }
  const categories = [...new Set(info.samples.map((s) => s.category))];
  for (const c of categories) {
    $("categories").append(el("option", { value: c }));
    $("sample-category").append(el("option", { value: c, text: c }));
  }
  $("samples").hidden = categories.length === 0;
  document.querySelectorAll("input[name=method]").forEach((i) => {
    i.addEventListener("change", updateMethod);
  });
  updateMethod();
  setupZone($("queries-zone"), $("queries-input"), "query");
  setupZone($("references-zone"), $("references-input"), "reference");
  $("add-samples").addEventListener("click", () => addSamples());
  $("run").addEventListener("click", () => run());
  $("colour-scale").addEventListener("change", () =>
    state.maps.forEach((m) => {
      drawMap(m.canvas, m.map, m.size, m.scale);
    }),
  );
  $("clear").addEventListener("click", () => {
    state.queries = [];
    state.references = [];
    $("queries-list").replaceChildren();
    $("references-list").replaceChildren();
  });
  document.body.dataset.ready = "1";
}

window.addEventListener("error", (e) => showError(`page error: ${e.message}`));
window.addEventListener("unhandledrejection", (e) => showError(`page error: ${e.reason?.message ?? e.reason}`));
// Dropped files that miss a zone would otherwise replace the page with the image.
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => e.preventDefault());
start().catch((e) => showError(e.message));
