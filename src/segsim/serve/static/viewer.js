// segsim live viewer: no build step, no libraries.
// The server renders frames and sends the image (JPEG) plus raw class-id masks (ground truth and,
// when inference is on, the prediction). Everything about how masks look -- palette, opacity,
// isolated group, hidden background, GT vs prediction -- is composed here, so those keys need no
// round trip. At most MAX_IN_FLIGHT frame requests are outstanding: on a slow machine the frame
// rate drops, input is never queued up.
"use strict";

const WALK_SPEED = 1.5;      // metres per second while a walk key is held
const TURN_SPEED = 1.2;      // radians per second while an arrow key is held
const DRAG_GAIN = 0.004;     // radians per dragged screen pixel
// Frames requested before the previous answer arrives. 1 by default: on 2 cores the renderer and
// the model each want every core, so overlapping them (?inflight=2: render frame n+1 while frame n
// is in the model) slows the model about as much as it saves; bench/bench_serve.py measures both.
const MAX_IN_FLIGHT = Math.min(2, Math.max(1, Number(new URLSearchParams(location.search).get("inflight")) || 1));

const $ = (id) => document.getElementById(id);
const canvas = $("view");
const ctx = canvas.getContext("2d");
const layer = document.createElement("canvas");   // the coloured mask, drawn over the image
const layerCtx = layer.getContext("2d");

const S = {
  ws: null, meta: null, labels: [], groups: [],  // groups: [{name, ids}]
  palette: new Uint8Array(256 * 3),
  width: 0, height: 0,
  image: null, gt: null, pred: null, held: null, heldMiou: null,
  continuous: false, wantOnce: false, wantNew: false, wantReset: false,
  mode: "pred", opacity: 0.5, group: -1, showImage: true,
  keys: new Set(), drag: [0, 0], dragging: false,
  inFlight: 0, pauseUntil: 0, seq: 0, shownSeq: 0, received: 0, onceSeqs: new Set(), lastSent: performance.now(), frameTimes: [], lastHeader: null,
  dropped: null, lutKey: "", lut: new Uint32Array(256),
};

// --- connection ----------------------------------------------------------------------------
function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/ws/viewer`);
  ws.binaryType = "arraybuffer";
  ws.onmessage = (ev) => (typeof ev.data === "string" ? onText(JSON.parse(ev.data)) : onFrame(ev.data));
  ws.onclose = () => { S.inFlight = 0; toast("disconnected from the server; retrying…"); setTimeout(connect, 2000); };
  ws.onopen = () => { S.inFlight = 0; hideToast(); };
  S.ws = ws;
}

function onText(msg) {
  if (msg.type === "meta") return setMeta(msg);
  if (msg.type === "error") {
    S.inFlight = Math.max(0, S.inFlight - 1);
    S.pauseUntil = performance.now() + 2000;  // e.g. no EGL on the server: retry slowly, don't hammer it
    toast(msg.error + (msg.fix ? ` (fix: ${msg.fix})` : ""));
  }
}

function setMeta(meta) {
  S.meta = meta;
  S.labels = meta.model.labels;
  S.palette.fill(128);
  for (const lab of S.labels) S.palette.set(lab.color, lab.id * 3);
  S.groups = Object.entries(meta.model.groups).map(([name, ids]) => ({ name, ids }));
  S.lutKey = "";
  const m = meta.model;
  $("model-line").textContent = `${m.name} · ${m.backend}` + (m.input_size ? ` · ${m.input_size.join("×")}` : "");
  if (meta.scene) {
    $("hud-scene").textContent = meta.scene.description;
    $("hud-walk").textContent = meta.scene.walk === "ground" ? "on the ground" : "free";
    if (!meta.scene.labels_match_model)
      toast(`the scene's labels differ from the model's; mIoU uses the ${meta.scene.shared_labels} shared ones`);
  }
  buildLegend();
}

function request() {
  const now = performance.now();
  const dt = Math.min((now - S.lastSent) / 1000, 0.1);
  S.lastSent = now;
  const k = (code) => (S.keys.has(code) ? 1 : 0);
  const walk = [(k("KeyW") - k("KeyS")) * WALK_SPEED * dt, (k("KeyD") - k("KeyA")) * WALK_SPEED * dt];
  const look = [(k("ArrowRight") - k("ArrowLeft")) * TURN_SPEED * dt + S.drag[0] * DRAG_GAIN,
                (k("ArrowUp") - k("ArrowDown")) * TURN_SPEED * dt - S.drag[1] * DRAG_GAIN];
  S.drag = [0, 0];
  const msg = { type: "frame", seq: ++S.seq, walk, look, infer: S.continuous || S.wantOnce,
                new_scene: S.wantNew, reset: S.wantReset };
  if (S.wantOnce) S.onceSeqs.add(msg.seq);
  S.wantOnce = S.wantNew = S.wantReset = false;
  S.inFlight++;
  S.ws.send(JSON.stringify(msg));
}

function needsFrame() {
  if (S.dropped) return false;
  const moving = ["KeyW", "KeyA", "KeyS", "KeyD", "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].some((c) => S.keys.has(c));
  return !S.image || moving || S.drag[0] || S.drag[1] || S.continuous || S.wantOnce || S.wantNew || S.wantReset;
}

function loop() {
  if (S.ws && S.ws.readyState === WebSocket.OPEN && S.meta && S.meta.scene && S.inFlight < MAX_IN_FLIGHT &&
      performance.now() >= S.pauseUntil && needsFrame()) request();
  requestAnimationFrame(loop);
}

async function onFrame(buf) {
  const view = new DataView(buf);
  const n = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
  const body = 4 + n;
  const part = (name) => {
    const p = header.parts[name];
    return p ? new Uint8Array(buf, body + p.offset, p.length) : null;
  };
  const image = await createImageBitmap(new Blob([part("image")], { type: "image/jpeg" }));
  if (header.seq < S.shownSeq) {  // decodes can finish out of order; never step back in time
    image.close();
    S.inFlight = Math.max(0, S.inFlight - 1);
    return;
  }
  S.shownSeq = header.seq;
  if (S.image) S.image.close();
  S.image = image;
  S.gt = part("gt");
  const pred = part("pred");
  if (pred && S.onceSeqs.delete(header.seq) && !S.continuous) { S.held = pred; S.heldMiou = header.miou; }
  S.pred = S.continuous ? pred : null;
  S.lastHeader = header;
  S.inFlight = Math.max(0, S.inFlight - 1);
  if (S.dropped) return;  // a frame that was in flight when an image was dropped: keep it, don't show it
  resize(header.width, header.height);
  const now = performance.now();
  S.frameTimes.push(now);
  while (S.frameTimes.length && now - S.frameTimes[0] > 1000) S.frameTimes.shift();
  S.received++;
  compose();
  updateHud();
}

// --- drawing -------------------------------------------------------------------------------
function resize(w, h) {
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  if (layer.width !== w || layer.height !== h) { layer.width = w; layer.height = h; }
  S.width = w; S.height = h;
}

function visibleIds() {
  // "All" leaves the background class uncoloured (its colour would only darken the image);
  // isolating a group shows exactly that group's labels, background included if asked for.
  if (S.group >= 0) return new Set(S.groups[S.group].ids);
  return new Set(S.labels.filter((l) => l.id !== 0).map((l) => l.id));
}

function lut() {
  const key = `${S.opacity}|${S.group}|${S.labels.length}`;
  if (key !== S.lutKey) {
    const vis = visibleIds();
    const a = Math.round(S.opacity * 255);
    for (let id = 0; id < 256; id++) {
      const p = id * 3;
      // ImageData is RGBA bytes; as little-endian uint32 that is A<<24 | B<<16 | G<<8 | R.
      S.lut[id] = vis.has(id) ? ((a << 24) | (S.palette[p + 2] << 16) | (S.palette[p + 1] << 8) | S.palette[p]) >>> 0 : 0;
    }
    S.lutKey = key;
  }
  return S.lut;
}

function currentMask() {
  if (S.dropped) return S.dropped.mask;
  if (S.mode === "gt") return S.gt;
  return S.continuous ? S.pred : S.held;
}

function compose() {
  const image = S.dropped ? S.dropped.image : S.image;
  if (!image) return;
  ctx.globalAlpha = 1;
  ctx.fillStyle = "#111";
  if (S.showImage) ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  else ctx.fillRect(0, 0, canvas.width, canvas.height);
  const mask = currentMask();
  if (!mask || S.opacity <= 0 || mask.length !== canvas.width * canvas.height) return;
  const img = layerCtx.createImageData(canvas.width, canvas.height);
  const out = new Uint32Array(img.data.buffer);
  const table = lut();
  for (let i = 0; i < mask.length; i++) out[i] = table[mask[i]];
  layerCtx.putImageData(img, 0, 0);
  ctx.drawImage(layer, 0, 0);
}

// --- HUD -----------------------------------------------------------------------------------
const fmtMs = (v) => (v == null ? "–" : `${v.toFixed(1)} ms`);

function updateHud() {
  const h = S.lastHeader;
  const now = performance.now();
  while (S.frameTimes.length && now - S.frameTimes[0] > 1000) S.frameTimes.shift();
  $("hud-fps").textContent = S.dropped ? "–" : S.frameTimes.length > 1 ? String(S.frameTimes.length) : "idle";
  if (h) {
    $("hud-render").textContent = fmtMs(h.render_ms);
    if (h.model_ms != null) $("hud-model").textContent = fmtMs(h.model_ms);
    const miou = S.continuous ? h.miou : S.held ? S.heldMiou : null;
    $("hud-miou").textContent = miou == null ? "–" : miou.toFixed(3);
    if (S.meta && S.meta.scene) $("hud-scene").textContent = `${S.meta.scene.description} · #${h.scene_index}`;
  }
  $("hud-mode").textContent = S.dropped ? "dropped image" : S.mode === "gt" ? "ground truth" : "prediction";
  $("hud-infer").textContent = S.continuous ? "continuous" : S.held ? "once (E clears)" : "off";
  $("hud-opacity").textContent = S.opacity.toFixed(2);
  $("hud-group").textContent = S.group >= 0 ? `${S.group + 1}: ${S.groups[S.group].name}` : "all";
  $("hud-bg").textContent = S.showImage ? "shown" : "hidden";
  highlightLegend();
}

function buildLegend() {
  const ol = $("legend");
  ol.innerHTML = "";
  S.groups.forEach((g, gi) => {
    const head = document.createElement("li");
    head.className = "group";
    head.dataset.group = gi;
    head.textContent = `${gi < 9 ? gi + 1 : " "} ${g.name}`;
    if (gi < 7) head.title = `${gi + 1} or F${gi + 1} isolates ${g.name}`;
    ol.appendChild(head);
    for (const id of g.ids) {
      const lab = S.labels[id];
      const li = document.createElement("li");
      li.className = "label";
      li.dataset.id = id;
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = `rgb(${lab.color.join(",")})`;
      li.append(sw, document.createTextNode(lab.name));
      ol.appendChild(li);
    }
  });
  highlightLegend();
}

function highlightLegend() {
  const vis = visibleIds();
  for (const li of document.querySelectorAll("#legend li.group"))
    li.classList.toggle("active", Number(li.dataset.group) === S.group);
  for (const li of document.querySelectorAll("#legend li.label"))
    li.classList.toggle("hidden", !vis.has(Number(li.dataset.id)));
}

let toastTimer = null;
function toast(text, ms = 6000) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(hideToast, ms);
}
function hideToast() { $("toast").hidden = true; }

// --- input ---------------------------------------------------------------------------------
function redraw() { compose(); updateHud(); }

// F1-F7 isolate the first seven label groups, as 1-7 do (the Unity tool's keys); the browser's
// own F-key actions (help, find, reload, caret browsing) are prevented while the viewer has them
const GROUP_KEYS = { F1: 0, F2: 1, F3: 2, F4: 3, F5: 4, F6: 5, F7: 6 };

function onKeyDown(e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const code = e.code, key = e.key;
  let handled = true;
  if (["KeyW", "KeyA", "KeyS", "KeyD", "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(code)) {
    if (S.dropped) leaveDropped();
    S.keys.add(code);
  } else if (code === "Space") {
    if (!e.repeat) { S.continuous = !S.continuous; S.held = null; S.pred = null; redraw(); }
  } else if (code === "KeyE") {
    if (S.continuous || S.held) { S.continuous = false; S.held = null; S.pred = null; redraw(); }
    else S.wantOnce = true;
  } else if (key === "+" || key === "=" || code === "NumpadAdd") {
    S.opacity = Math.min(1, Math.round((S.opacity + 0.1) * 10) / 10); redraw();
  } else if (key === "-" || key === "_" || code === "NumpadSubtract") {
    S.opacity = Math.max(0, Math.round((S.opacity - 0.1) * 10) / 10); redraw();
  } else if (/^(Digit|Numpad)[0-9]$/.test(code) || code in GROUP_KEYS) {
    const n = code in GROUP_KEYS ? GROUP_KEYS[code] + 1 : Number(code.slice(-1));
    if (n === 0) S.group = -1;
    else if (n <= S.groups.length) S.group = n - 1;
    else toast(`there is no group ${n}; this model has ${S.groups.length}`, 2500);
    redraw();
  } else if (code === "KeyQ") {
    S.showImage = !S.showImage; redraw();
  } else if (code === "KeyG") {
    S.mode = S.mode === "gt" ? "pred" : "gt"; redraw();
  } else if (code === "KeyH" || key === "?") {
    $("help").hidden = !$("help").hidden;
  } else if (code === "KeyN") {
    if (S.dropped) leaveDropped();
    S.wantNew = true; S.held = null;
  } else if (code === "KeyR") {
    S.wantReset = true;
  } else if (code === "Escape") {
    if (S.dropped) leaveDropped(); else $("help").hidden = true;
  } else handled = false;
  if (handled) e.preventDefault();
}

function onKeyUp(e) { S.keys.delete(e.code); }

function leaveDropped() {
  if (!S.dropped) return;
  S.dropped = null;
  if (S.width) resize(S.width, S.height);
  if (S.lastHeader) resize(S.lastHeader.width, S.lastHeader.height);
  redraw();
}

canvas.addEventListener("pointerdown", (e) => { S.dragging = true; canvas.setPointerCapture(e.pointerId); canvas.classList.add("dragging"); canvas.focus(); });
canvas.addEventListener("pointermove", (e) => { if (S.dragging) { S.drag[0] += e.movementX; S.drag[1] += e.movementY; } });
const endDrag = () => { S.dragging = false; canvas.classList.remove("dragging"); };
canvas.addEventListener("pointerup", endDrag);
canvas.addEventListener("pointercancel", endDrag);
window.addEventListener("keydown", onKeyDown);
window.addEventListener("keyup", onKeyUp);
window.addEventListener("blur", () => S.keys.clear());

// --- drop an image -------------------------------------------------------------------------
window.addEventListener("dragover", (e) => { e.preventDefault(); document.body.classList.add("dropping"); });
window.addEventListener("dragleave", () => document.body.classList.remove("dropping"));
window.addEventListener("drop", async (e) => {
  e.preventDefault();
  document.body.classList.remove("dropping");
  const file = e.dataTransfer && e.dataTransfer.files[0];
  if (file) await segmentFile(file);
});

async function segmentFile(file) {
  const resp = await fetch("/v1/predict?format=json", {
    method: "POST", body: file, headers: { "Content-Type": file.type || "application/octet-stream" } });
  const body = await resp.json().catch(() => ({ error: `HTTP ${resp.status}` }));
  if (!resp.ok) return toast(`${body.error}${body.fix ? ` (fix: ${body.fix})` : ""}`);
  const image = await createImageBitmap(file);
  const maskImage = await createImageBitmap(await (await fetch(`data:image/png;base64,${body.mask_png_base64}`)).blob());
  resize(body.width, body.height);
  layerCtx.clearRect(0, 0, body.width, body.height);
  layerCtx.drawImage(maskImage, 0, 0);
  const rgba = layerCtx.getImageData(0, 0, body.width, body.height).data;
  const mask = new Uint8Array(body.width * body.height);
  for (let i = 0; i < mask.length; i++) mask[i] = rgba[i * 4];  // grey PNG: R = G = B = class id
  S.dropped = { image, mask };
  $("hud-model").textContent = fmtMs(body.latency_ms);
  $("hud-miou").textContent = "– (no ground truth)";
  redraw();
  toast(`${file.name}: ${body.classes.map((c) => `${c.name} ${(100 * c.fraction).toFixed(1)}%`).join(", ")} — Esc returns`, 8000);
}

setInterval(() => { if (!S.inFlight) updateHud(); }, 500);  // lets frames/s fall to "idle" when nothing moves
window.segsimViewer = S;  // for the browser test and for poking around in the console
connect();
requestAnimationFrame(loop);
canvas.focus();
