// The explorer's page. It draws what the server returns and computes nothing of its own:
// the drawing goes to the server as ink coverage, which the server turns into the 8x8
// input, runs through the network and backpropagates.
"use strict";

const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";

const state = {
  info: null,
  session: null,
  source: null,      // {kind: "ink"} or {kind: "pixels", pixels, label, index}
  target: 3,
  step: 0,           // 0: the forward view; 1..n: backprop's steps
  data: null,        // the last view the server sent
  pinned: null,      // name of the pinned connection
  moved: [],         // names of the weights the last SGD step moved most
  busy: false,
  dirty: false,
  timer: 0,
  testIndex: -1,
  training: false,   // the page asks the server for chunks of training while true
  looping: false,    // a chunk (or the view after it) is still on its way
  curve: null,       // what the charts plot (see newCurve)
};

// The charts' points, x = SGD steps on this page's copy (one at a time or training).
function newCurve() {
  return {batch: [], test: []};  // batch: [step, loss]; test: [step, accuracy, loss]
}
state.curve = newCurve();

// --- talking to the server -----------------------------------------------------------

async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body),
  };
  const r = await fetch(path, opts);
  let data;
  try { data = await r.json(); } catch (e) { data = {error: `HTTP ${r.status}`}; }
  if (!r.ok) {
    const err = new Error(data.error || `HTTP ${r.status}`);
    err.status = r.status;
    throw err;
  }
  return data;
}

async function newSession() {
  state.session = (await api("/api/session", {})).session;
}

// Calls an endpoint with this page's session; if the server forgot it, start a new one.
async function withSession(path, body) {
  try {
    return await api(path, {...body, session: state.session});
  } catch (e) {
    if (e.status !== 404) throw e;
    await newSession();
    forgetCurves();
    setStatus("The server had forgotten this page's model (restarted?); started again from the loaded model.", "warn");
    return api(path, {...body, session: state.session});
  }
}

function setStatus(text, kind) {
  const s = $("status");
  s.textContent = text || "";
  s.className = "status" + (text ? " " + (kind || "info") : "");
}

// --- the input -------------------------------------------------------------------------

const pad = $("pad");
const padCtx = pad.getContext("2d");
const PAD_CSS = 280;
const BRUSH = 22;
const ink = document.createElement("canvas");
let drawing = null;

function setupPad() {
  const dpr = window.devicePixelRatio || 1;
  pad.width = Math.round(PAD_CSS * dpr);
  pad.height = Math.round(PAD_CSS * dpr);
  padCtx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ink.width = ink.height = state.info ? state.info.ink_side : 64;
}

function padPoint(e) {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) * PAD_CSS / r.width, (e.clientY - r.top) * PAD_CSS / r.height];
}

function clearPad() {
  padCtx.clearRect(0, 0, PAD_CSS, PAD_CSS);
}

pad.addEventListener("pointerdown", (e) => {
  e.preventDefault();
  pad.setPointerCapture(e.pointerId);
  if (!state.source || state.source.kind !== "ink") {
    clearPad();
    state.source = {kind: "ink"};
    $("pad-caption").textContent = "your drawing";
  }
  $("pad-hint").hidden = true;
  drawing = padPoint(e);
  stroke(drawing, drawing);
  schedule(60);
});

pad.addEventListener("pointermove", (e) => {
  if (!drawing) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of events.length ? events : [e]) {
    const p = padPoint(ev);
    stroke(drawing, p);
    drawing = p;
  }
  schedule(60);
});

for (const type of ["pointerup", "pointercancel"]) {
  pad.addEventListener(type, () => {
    if (!drawing) return;
    drawing = null;
    schedule(0);
  });
}

function stroke(a, b) {
  padCtx.strokeStyle = "#111";
  padCtx.lineWidth = BRUSH;
  padCtx.lineCap = "round";
  padCtx.lineJoin = "round";
  padCtx.beginPath();
  padCtx.moveTo(a[0], a[1]);
  padCtx.lineTo(b[0], b[1]);
  padCtx.stroke();
}

// The drawing's ink coverage on the server's grid (alpha 0..255): the server digitizes it.
function readInk() {
  const ctx = ink.getContext("2d", {willReadFrequently: true});
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.clearRect(0, 0, ink.width, ink.height);
  ctx.drawImage(pad, 0, 0, ink.width, ink.height);
  const rgba = ctx.getImageData(0, 0, ink.width, ink.height).data;
  const out = new Array(ink.width * ink.height);
  for (let i = 0; i < out.length; i++) out[i] = rgba[4 * i + 3];
  return out;
}

// Show a test digit on the pad, as the blocks it is made of.
function showPixelsOnPad(pixels) {
  clearPad();
  const cell = PAD_CSS / 8;
  for (let i = 0; i < 64; i++) {
    if (!pixels[i]) continue;
    padCtx.fillStyle = `rgba(17,17,17,${pixels[i] / 16})`;
    padCtx.fillRect((i % 8) * cell, Math.floor(i / 8) * cell, cell, cell);
  }
  $("pad-hint").hidden = true;
}

function inputBody() {
  if (!state.source) return null;
  if (state.source.kind === "pixels") return {pixels: state.source.pixels};
  return {ink: readInk(), fit: $("fit").checked};
}

$("clear").addEventListener("click", () => {
  clearPad();
  state.source = {kind: "ink"};
  $("pad-hint").hidden = false;
  $("pad-caption").textContent = "your drawing";
  schedule(0);
});
$("fit").addEventListener("change", () => schedule(0));

async function pickTest(query) {
  try {
    const d = await api(`/api/testdigit?${query}`);
    state.source = {kind: "pixels", pixels: d.pixels, label: d.label, index: d.index};
    state.testIndex = d.index;
    $("test-index").value = d.index;
    $("test-label").value = String(d.label);
    $("pad-caption").textContent = `test digit #${d.index}, labelled ${d.label}`;
    showPixelsOnPad(d.pixels);
    setTarget(d.label, false);
    schedule(0);
  } catch (e) {
    setStatus(e.message, "error");
  }
}

$("test-next").addEventListener("click", () => {
  const label = $("test-label").value;
  const after = state.testIndex >= 0 ? `&after=${state.testIndex}` : "";
  pickTest(`label=${encodeURIComponent(label)}${after}`);
});
$("test-label").addEventListener("change", () => pickTest(`label=${encodeURIComponent($("test-label").value)}`));
$("test-index").addEventListener("change", () => pickTest(`index=${encodeURIComponent($("test-index").value)}`));

// --- updates: one request at a time, always for the latest input -------------------------

function schedule(delay) {
  clearTimeout(state.timer);
  state.timer = setTimeout(() => { state.dirty = true; pump(); }, delay);
}

async function pump() {
  if (state.busy) return;
  state.busy = true;
  try {
    while (state.dirty) {
      state.dirty = false;
      await update();
    }
  } finally {
    state.busy = false;
  }
}

async function update() {
  const body = inputBody();
  if (!body) return;
  try {
    const data = state.step === 0
      ? await withSession("/api/predict", body)
      : await withSession("/api/step", {...body, target: state.target, step: state.step});
    state.data = data;
    render(data);
    if ($("status").classList.contains("error")) setStatus("");
  } catch (e) {
    setStatus(e.message, "error");
  }
}

// --- drawing what came back -----------------------------------------------------------

function fmt(x, digits = 4) {
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e4) return x.toFixed(digits);
  return x.toExponential(digits - 1);
}

function signed(x, digits = 4) {
  return (x > 0 ? "+" : "") + fmt(x, digits);
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "data") for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = dv;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

function render(d) {
  renderGrid(d.pixels);
  renderAnswer(d);
  renderView(d);
  renderStep(d);
  refreshPaths(d);
  $("sgd-count").textContent = d.sgd_steps
    ? `this page's model has taken ${d.sgd_steps} SGD step${d.sgd_steps > 1 ? "s" : ""}`
    : "this page's model is the loaded one";
}

function renderGrid(pixels) {
  const grid = $("grid");
  grid.replaceChildren(...pixels.map((v, i) => {
    const level = Math.round(v * 100) / 100;
    const cell = el("div", {
      class: "px" + (v > 8 ? " dark" : ""),
      title: `pixel x${i} (row ${Math.floor(i / 8)}, column ${i % 8}): ${level} of 16`,
    }, v ? level : "");
    cell.style.background = `rgba(17,17,17,${v / 16})`;
    return cell;
  }));
  grid.dataset.pixels = JSON.stringify(pixels);
}

function renderAnswer(d) {
  $("pred-digit").textContent = d.prediction;
  $("pred-digit").dataset.prediction = d.prediction;
  const bars = d.probabilities.map((p, k) => {
    const bar = el("div", {class: "bar"});
    bar.style.width = `${Math.max(0.5, 100 * p)}%`;
    const row = el("div", {
      class: "bar-row" + (k === d.prediction ? " best" : "") + (state.step && k === state.target ? " target" : ""),
      data: {digit: k, p: p},
    }, el("span", {class: "bar-label"}, k), el("div", {class: "bar-track"}, bar),
    el("span", {class: "bar-value"}, (100 * p).toFixed(1) + "%"));
    return row;
  });
  $("probs").replaceChildren(...bars);
}

function renderView(d) {
  const view = $("view");
  view.innerHTML = d.svg;
  view.dataset.view = d.view;
  view.dataset.step = d.view === "step" ? d.step : 0;
  view.dataset.layer = d.view === "step" ? d.layer.index : "";
  view.dataset.updates = d.view === "step" && d.layer.updates ? d.layer.updates : "";
  const svg = view.querySelector("svg");
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("preserveAspectRatio", "xMidYMin meet");
  const top = new Set((d.top_weights || []).map((w) => w.name));
  for (const g of svg.querySelectorAll("g.edge")) {
    // Our own tooltip replaces Graphviz's; a wide invisible path makes thin lines easy to hit.
    g.querySelector("title")?.remove();
    g.querySelectorAll("a").forEach((a) => a.removeAttributeNS("http://www.w3.org/1999/xlink", "title"));
    const path = g.querySelector("path");
    if (path) {
      const hit = document.createElementNS(SVGNS, "path");
      hit.setAttribute("d", path.getAttribute("d"));
      hit.setAttribute("class", "hit");
      g.append(hit);
    }
    if (top.has(g.id)) g.classList.add("top");
    if (state.moved.includes(g.id)) g.classList.add("moved");
    if (g.id === state.pinned) g.classList.add("pinned");
  }
  renderPinned();
}

function connectionText(c) {
  if (!c) return [];
  if (c.grad === undefined) {
    return [
      ["value", fmt(c.value)],
      ["input", `${c.input} = ${fmt(c.input_value)}`],
      ["weight × input", fmt(c.product)],
    ];
  }
  return [
    ["value", fmt(c.value)],
    ["gradient", signed(c.grad)],
    ["product (trace_backward)",
      `${signed(c.upstream)} × ${fmt(c.local)} = ${signed(c.product)}`],
    ["upstream", `d loss / d (weighted input of ${c.neuron}) = ${signed(c.upstream)}`],
    ["local", `d (weighted input) / d weight = its input, ${c.input} = ${fmt(c.local)}`],
  ];
}

function connectionTable(c) {
  const t = el("table", {class: "kv", data: {name: c.name}});
  t.append(el("caption", {}, c.name));
  for (const [k, v] of connectionText(c)) t.append(el("tr", {}, el("th", {}, k), el("td", {}, v)));
  for (const key of ["value", "grad", "upstream", "local", "product"]) {
    if (c[key] !== undefined) t.dataset[key] = String(c[key]);
  }
  return t;
}

const tip = $("tip");
const view = $("view");

view.addEventListener("pointermove", (e) => {
  const g = e.target.closest ? e.target.closest("g.edge") : null;
  const c = g && state.data && state.data.connections[g.id];
  view.querySelectorAll("g.edge.hover").forEach((x) => x !== g && x.classList.remove("hover"));
  if (!c) { tip.hidden = true; return; }
  g.classList.add("hover");
  tip.replaceChildren(connectionTable(c));
  tip.hidden = false;
  const box = view.parentElement.getBoundingClientRect();
  let x = e.clientX - box.left + 16, y = e.clientY - box.top + 16;
  if (x + tip.offsetWidth > box.width) x = Math.max(0, e.clientX - box.left - tip.offsetWidth - 16);
  if (e.clientY + 16 + tip.offsetHeight > window.innerHeight) {
    y = Math.max(0, e.clientY - box.top - tip.offsetHeight - 16);  // above the pointer
  }
  tip.style.left = `${x}px`;
  tip.style.top = `${y}px`;
});
view.addEventListener("pointerleave", () => {
  tip.hidden = true;
  view.querySelectorAll("g.edge.hover").forEach((x) => x.classList.remove("hover"));
});
view.addEventListener("click", (e) => {
  const g = e.target.closest ? e.target.closest("g.edge") : null;
  if (g) pin(g.id === state.pinned ? null : g.id);
});

function pin(name) {
  state.pinned = name;
  for (const g of view.querySelectorAll("g.edge")) g.classList.toggle("pinned", g.id === name);
  renderPinned();
  if (name && state.step > 0) openPaths(name);
  else closePaths();
}

function renderPinned() {
  const box = $("pinned");
  const c = state.pinned && state.data && state.data.connections[state.pinned];
  if (state.pinned && !c) {
    const unpin = el("button", {type: "button", class: "ghost small"}, "unpin");
    unpin.addEventListener("click", () => pin(null));
    box.replaceChildren(el("p", {class: "muted small"}, `${state.pinned} is not drawn in this view ` +
      "(into each neuron only the connections with the largest |weight × activation|, or in a " +
      "backprop step the largest |gradient|, are drawn: the picture's notes say so)."), unpin);
    return;
  }
  if (!c) {
    box.replaceChildren(el("p", {class: "muted small"},
      "Click a connection in the picture, or a row below, to pin its numbers here."));
    return;
  }
  const unpin = el("button", {type: "button", class: "ghost small"}, "unpin");
  unpin.addEventListener("click", () => pin(null));
  box.replaceChildren(connectionTable(c), unpin);
}

function renderStep(d) {
  const nudges = $("nudges"), tops = $("top-weights");
  if (d.view !== "step") {
    $("explain").textContent = `Pick a step above to see backpropagation for the target digit (${state.target}): ` +
      "step 1 compares the outputs with the desired ones, then each step adjusts the weights into one layer, from the last layer back to the first.";
    $("nudges-title").textContent = "Nudges";
    nudges.replaceChildren();
    tops.replaceChildren();
    return;
  }
  $("explain").textContent = d.explanation;
  $("explain").dataset.step = d.step;
  if (d.step === 1) {
    $("nudges-title").textContent = "Nudges at the outputs";
    nudges.replaceChildren(el("tr", {}, ...["output", "activation", "desired", "gradient", "nudge"].map((h) => el("th", {}, h))),
      ...d.nudges.map((n) => el("tr", {class: n.desired ? "target" : "", data: {neuron: n.neuron, grad: n.grad}},
        el("td", {}, n.name), el("td", {}, fmt(n.activation)), el("td", {}, n.desired),
        el("td", {}, signed(n.grad)), nudgeCell(n.grad))));
  } else {
    $("nudges-title").textContent = `Nudges: ${d.layer.name}'s weighted inputs`;
    const rows = [...d.nudges].sort((a, b) => Math.abs(b.grad) - Math.abs(a.grad));
    nudges.replaceChildren(el("tr", {}, ...["neuron", "output", "gradient", "nudge"].map((h) => el("th", {}, h))),
      ...rows.map((n) => el("tr", {data: {neuron: n.neuron, grad: n.grad}},
        el("td", {class: "mono"}, n.neuron), el("td", {}, fmt(n.activation)), el("td", {}, signed(n.grad)),
        n.off ? el("td", {class: "muted"}, "off") : nudgeCell(n.grad))));
  }
  tops.replaceChildren(el("tr", {}, ...["weight", "value", "gradient", "upstream × input = product"].map((h) => el("th", {}, h))),
    ...d.top_weights.map((w) => {
      const tr = el("tr", {class: "clickable", data: {name: w.name, value: w.value, grad: w.grad}},
        el("td", {class: "mono"}, w.name), el("td", {}, fmt(w.value)), el("td", {}, signed(w.grad)),
        el("td", {}, `${signed(w.upstream)} × ${fmt(w.local)} = ${signed(w.product)}`));
      tr.addEventListener("click", () => pin(w.name));
      keyboardRow(tr, () => pin(w.name), `show why ${w.name}'s gradient is ${signed(w.grad)}`);
      return tr;
    }));
  if (!d.top_weights.length) {
    tops.append(el("tr", {}, el("td", {colspan: 4, class: "muted"}, "Step 1 changes no weight: it only says which way each output should go.")));
  }
}

function nudgeCell(grad) {
  if (grad === 0) return el("td", {class: "muted"}, "none");
  return grad < 0 ? el("td", {class: "up"}, "▲ rise") : el("td", {class: "down"}, "▼ fall");
}

// --- why a gradient is what it is: the weight's paths to the loss ----------------------
// The chain rule: d loss / d w is the sum, over every path from the loss down to w, of the
// product of the local derivatives on it. The server lists the largest paths
// (autograd.explain_gradient) and draws them on the network; the page shows them adding up.

const paths = $("paths");
let pathsAsked = 0;  // the latest request: an older answer that arrives late is dropped

function keyboardRow(tr, act, label) {
  tr.tabIndex = 0;
  tr.setAttribute("role", "button");
  tr.setAttribute("aria-label", label);
  tr.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); act(); }
  });
}

async function openPaths(name) {
  const body = inputBody();
  if (!body) return;
  const asked = ++pathsAsked;
  paths.hidden = false;
  paths.dataset.weight = name;
  paths.dataset.state = "loading";
  try {
    const d = await withSession("/api/paths", {...body, target: state.target, weight: name, k: 5});
    if (asked === pathsAsked) renderPaths(d);
  } catch (e) {
    if (asked !== pathsAsked) return;
    paths.dataset.state = "error";
    paths.replaceChildren(el("p", {class: "muted"}, `Could not explain ${name}: ${e.message}`));
  }
}

function closePaths() {
  pathsAsked++;
  paths.hidden = true;
  paths.replaceChildren();
  delete paths.dataset.weight;
  paths.dataset.state = "closed";
}

function refreshPaths(d) {
  if (paths.hidden) return;
  if (d.view === "step" && state.pinned) openPaths(state.pinned);
  else closePaths();
}

function hopsCell(hops) {
  const td = el("td", {class: "hops"});
  hops.forEach((h, i) => {
    if (i) td.append(el("span", {class: "local"}, ` ×${fmt(h.local)} `), "→ ");
    td.append(el("span", {class: i === hops.length - 1 ? "mono weight" : "mono"}, h.name));
  });
  return td;
}

function renderPaths(d) {
  paths.dataset.state = "shown";
  paths.dataset.total = d.total;
  const close = el("button", {type: "button", class: "ghost small", "aria-label": "close the paths"}, "close");
  close.addEventListener("click", () => closePaths());
  const head = el("div", {class: "paths-head"},
    el("h3", {}, `Why is d loss / d ${d.weight} = ${signed(d.total)}?`), close);
  const intro = el("p", {class: "small"},
    "By the chain rule, a weight's gradient is the sum, over every path from the loss down to " +
    "the weight, of the product of the local derivatives along the path (×). These are its " +
    `${d.paths.length} largest of ${d.count} paths; backpropagation gets the same sum without ` +
    `listing them, sharing their common parts: ${d.comparison}.`);
  const table = el("table", {id: "paths-table"},
    el("tr", {}, ...["#", "path from the loss, × each hop's local derivative", "contribution", "running sum"]
      .map((h) => el("th", {}, h))));
  d.paths.forEach((p, i) => {
    table.append(el("tr", {class: "path-row", data: {contribution: p.contribution, running: p.running}},
      el("td", {}, i + 1), hopsCell(p.hops),
      el("td", {class: p.contribution > 0 ? "pos" : p.contribution < 0 ? "neg" : ""}, signed(p.contribution)),
      el("td", {}, signed(p.running))));
  });
  if (d.others !== "0") {
    table.append(el("tr", {class: "rest-row", data: {remainder: d.remainder}},
      el("td", {}, ""), el("td", {}, `the other ${d.others} paths, together`),
      el("td", {}, signed(d.remainder)), el("td", {}, signed(d.listed + d.remainder))));
  }
  table.append(el("tr", {class: "total-row", data: {total: d.total}},
    el("td", {}, ""), el("td", {}, `= the gradient of ${d.weight} (backward computes the same)`),
    el("td", {}, ""), el("td", {}, signed(d.total))));
  const figure = el("figure", {class: "paths-figure"});
  figure.innerHTML = d.svg;
  const svg = figure.querySelector("svg");
  if (svg) {
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", `the network with the ${d.paths.length} largest paths of ${d.weight} drawn`);
  }
  paths.replaceChildren(head, intro, el("div", {class: "scroll"}, table), figure);
}

// --- the stepper and the target ---------------------------------------------------------

function stepLabels() {
  const layers = state.info.layers;
  const labels = ["Forward", "1 · outputs"];
  for (let s = 2; s <= state.info.steps; s++) {
    labels.push(`${s} · into ${layers[layers.length - (s - 1)].replace("the ", "")}`);
  }
  return labels;
}

function buildControls() {
  const stepper = $("stepper");
  stepper.replaceChildren(...stepLabels().map((label, s) => {
    const b = el("button", {type: "button", role: "tab", data: {step: s}}, label);
    b.addEventListener("click", () => setStep(s));
    return b;
  }));
  const target = $("target");
  target.replaceChildren(...Array.from({length: 10}, (_, k) => {
    const b = el("button", {type: "button", role: "radio", data: {digit: k}}, k);
    b.addEventListener("click", () => setTarget(k, true));
    return b;
  }));
  $("step-prev").addEventListener("click", () => setStep(Math.max(0, state.step - 1)));
  $("step-next").addEventListener("click", () => setStep(Math.min(state.info.steps, state.step + 1)));
  markControls();
}

function markControls() {
  for (const b of $("stepper").children) {
    const on = Number(b.dataset.step) === state.step;
    b.classList.toggle("on", on);
    b.setAttribute("aria-selected", on);
  }
  for (const b of $("target").children) {
    const on = Number(b.dataset.digit) === state.target;
    b.classList.toggle("on", on);
    b.setAttribute("aria-checked", on);
  }
  $("sgd").textContent = `Take one SGD step toward ${state.target}`;
}

function setStep(s) {
  state.step = s;
  markControls();
  schedule(0);
}

function setTarget(k, update) {
  state.target = k;
  if (state.step === 0 && update) state.step = 1;  // a target is for backprop: show step 1
  markControls();
  if (update) schedule(0);
}

document.addEventListener("keydown", (e) => {
  if (e.target.matches("input, select, textarea")) return;
  if (e.key === "ArrowRight") setStep(Math.min(state.info.steps, state.step + 1));
  else if (e.key === "ArrowLeft") setStep(Math.max(0, state.step - 1));
  else if (/^[0-9]$/.test(e.key)) setTarget(Number(e.key), true);
});

// --- SGD ------------------------------------------------------------------------------

$("sgd").addEventListener("click", async () => {
  const body = inputBody();
  if (!body) return;
  const button = $("sgd");
  button.disabled = true;
  try {
    const r = await withSession("/api/sgd", {...body, target: state.target, lr: Number($("lr").value)});
    state.moved = r.moved.map((m) => m.name);
    addTestPoint(r.sgd_steps - 1, r.test.before);
    addTestPoint(r.sgd_steps, r.test.after);
    drawCharts();
    renderSgd(r);
    schedule(0);  // redraw the view with the new weights
  } catch (e) {
    setStatus(e.message, "error");
  } finally {
    button.disabled = false;
  }
});

async function resetModel(fresh) {
  await pauseTraining();
  try {
    await withSession("/api/reset", {fresh});
    state.moved = [];
    forgetCurves();
    const what = fresh ? "The model has new random weights." : "The model is the loaded one again.";
    $("sgd-result").replaceChildren(el("p", {class: "muted"}, what));
    setTrainStatus(what + " Start training to watch it learn.", "");
    schedule(0);
  } catch (e) {
    setStatus(e.message, "error");
  }
}

$("reset").addEventListener("click", () => resetModel(false));
$("train-reset").addEventListener("click", () => resetModel(false));
$("train-fresh").addEventListener("click", () => resetModel(true));

function renderSgd(r) {
  const b = r.before, a = r.after, t = r.target;
  const summary = el("table", {class: "before-after"},
    el("tr", {}, el("th", {}, ""), el("th", {}, "before"), el("th", {}, "after")),
    el("tr", {}, el("th", {}, "prediction"), el("td", {class: "pred-before"}, b.prediction), el("td", {class: "pred-after"}, a.prediction)),
    el("tr", {}, el("th", {}, `probability of ${t}`), el("td", {}, (100 * b.p_target).toFixed(2) + "%"),
      el("td", {class: a.p_target > b.p_target ? "up" : "down"}, (100 * a.p_target).toFixed(2) + "%")),
    el("tr", {}, el("th", {}, "loss"), el("td", {}, fmt(b.loss)), el("td", {}, fmt(a.loss))),
    el("tr", {class: "test-row-ba"}, el("th", {}, `accuracy on all ${r.test.after.count} test digits`),
      el("td", {class: "test-before", data: {accuracy: r.test.before.accuracy}}, pct(r.test.before)),
      el("td", {class: "test-after" + (r.test.after.accuracy < r.test.before.accuracy ? " harm" : ""),
        data: {accuracy: r.test.after.accuracy}}, pct(r.test.after))),
    el("tr", {}, el("th", {}, "loss on the test digits"), el("td", {}, fmt(r.test.before.loss)),
      el("td", {}, fmt(r.test.after.loss))));
  const harm = r.test.after.accuracy < r.test.before.accuracy
    ? `This step made the other digits worse: test accuracy fell by ${(100 * (r.test.before.accuracy - r.test.after.accuracy)).toFixed(1)} points. ${readAs(r.test.after)}`
    : `${readAs(r.test.after)}`;
  const moved = el("table", {class: "moved"},
    el("tr", {}, ...["parameter", "old value", "gradient", "new value", `change = −${r.lr} × gradient`].map((h) => el("th", {}, h))),
    ...r.moved.map((m) => {
      const tr = el("tr", {class: "clickable moved-row", data: {name: m.name, old: m.old, grad: m.grad, new: m.new, lr: r.lr, change: m.change}},
        el("td", {class: "mono"}, m.name), el("td", {}, fmt(m.old, 6)), el("td", {}, signed(m.grad, 6)),
        el("td", {}, fmt(m.new, 6)), el("td", {class: m.change > 0 ? "up" : "down"}, signed(m.change, 6)));
      tr.addEventListener("click", () => pin(m.name));
      return tr;
    }));
  $("sgd-result").replaceChildren(
    summary,
    el("p", {class: "small sgd-harm"}, harm.trim()),
    el("h3", {}, `The ${r.moved.length} parameters that moved most (of ${r.changed} that changed, ${r.parameters} in all)`),
    el("div", {class: "scroll"}, moved),
    el("p", {class: "muted small"}, "Highlighted in the picture when drawn (gold). Click a row to pin its numbers."));
}

function pct(t) {
  return `${(100 * t.accuracy).toFixed(1)}% (${t.correct} of ${t.count})`;
}

// What most test digits are read as, when one class takes over (a ruined model's sign).
function readAs(t) {
  let best = 0;
  t.read_as.forEach((n, k) => { if (n > t.read_as[best]) best = k; });
  const n = t.read_as[best];
  return n > t.count / 2 ? `${n} of the ${t.count} test digits are now read as ${best}.` : "";
}

// --- training: chunks of minibatch SGD, asked for one after another ----------------------
// The server trains at most a chunk of steps (and a second) per request; the page asks for
// the next chunk only after drawing this one, so pausing stops training within a chunk.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function setTrainStatus(text, kind) {
  const s = $("train-status");
  s.textContent = text;
  s.className = "small train-status" + (kind ? " " + kind : "");
}

function forgetCurves() {
  state.curve = newCurve();
  drawCharts();
}

function addTestPoint(step, t) {
  const pts = state.curve.test;
  if (pts.length && pts[pts.length - 1][0] === step) return;  // measured once per step
  pts.push([step, t.accuracy, t.loss]);
}

function markTraining() {
  const b = $("train-toggle");
  b.textContent = state.training ? "Pause" : "Start training";
  b.setAttribute("aria-pressed", state.training);
  b.classList.toggle("running", state.training);
  $("train-toggle").dataset.state = state.training ? "running" : "paused";
}

// Stops asking for chunks; resolves once the chunk on its way (if any) is drawn and the
// server has been told, so a reset that follows cannot race it.
async function pauseTraining() {
  if (!state.training) return;
  state.training = false;
  markTraining();
  while (state.looping) await sleep(30);
}

$("train-toggle").addEventListener("click", () => {
  if (state.training) {
    pauseTraining();
  } else {
    state.training = true;
    markTraining();
    trainLoop();
  }
});

function lastStep() {
  const t = state.curve.test;
  return t.length ? t[t.length - 1][0] : 0;
}

async function trainLoop() {
  if (state.looping) return;  // the loop that is running goes on
  state.looping = true;
  try {
    await trainChunks();
  } finally {
    // After the last chunk has answered, so the server lets another page train at once.
    try { await api("/api/pause", {session: state.session}); } catch (e) { /* expires anyway */ }
    state.looping = false;
  }
}

async function trainChunks() {
  setTrainStatus("Training…", "");
  const status = $("train-status");
  while (state.training) {
    let r;
    try {
      r = await withSession("/api/train", {
        lr: Number($("train-lr").value),
        batch_size: Number($("batch-size").value),
        steps: state.info.train.steps_per_request,
      });
    } catch (e) {
      if (e.status === 503 && state.training) {
        setTrainStatus(`${e.message} (waiting)`, "warn");
        for (let i = 0; i < 20 && state.training; i++) await sleep(100);
        continue;
      }
      state.training = false;
      markTraining();
      setTrainStatus(e.message, "error");
      return;
    }
    addTestPoint(r.first_step - 1, r.test_before);
    r.losses.forEach((loss, i) => state.curve.batch.push([r.first_step + i, loss]));
    addTestPoint(r.sgd_steps, r.test);
    drawCharts();
    const t = r.test;
    const summary = `Test digits: ${pct(t)} right, loss ${fmt(t.loss)}. ${readAs(t)}`.trim();
    status.dataset.summary = summary;
    status.dataset.steps = r.train_steps;
    status.dataset.accuracy = t.accuracy;
    const where = `Step ${r.sgd_steps} (epoch ${r.epoch}, ${r.seen.toLocaleString()} digits seen, lr ${r.lr}, batch ${r.batch_size}).`;
    if (r.stopped === "diverged" || r.stopped === "limit") {
      state.training = false;
      markTraining();
      const why = r.stopped === "diverged"
        ? `Stopped: ${r.message}. Lower the learning rate, or reset.`
        : `Stopped: this page's model has taken the limit of ${r.steps_limit.toLocaleString()} training steps; reset it to train again.`;
      setTrainStatus(`${where} ${summary} ${why}`, "warn");
      await refreshView();
      return;
    }
    setTrainStatus(`${where} ${summary}`, "");
    await refreshView();
  }
  setTrainStatus(`Paused at step ${lastStep()}. ${status.dataset.summary || ""}`.trim(), "");
}

// Redraw the current view (forward or a backprop step) with the weights as they are now.
async function refreshView() {
  clearTimeout(state.timer);
  state.dirty = true;
  if (!state.busy) await pump();
  while (state.busy) await sleep(30);
}

// --- the charts: plain SVG of the numbers the server sent --------------------------------

const CHART = {w: 360, h: 130, left: 36, right: 8, top: 8, bottom: 20};

function svgEl(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function niceMax(x) {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function chart(box, series, yMax, yLabel, xMax) {
  const {w, h, left, right, top, bottom} = CHART;
  const svg = svgEl("svg", {viewBox: `0 0 ${w} ${h}`});
  const X = (x) => left + (w - left - right) * x / xMax;
  const Y = (y) => top + (h - top - bottom) * (1 - Math.min(y, yMax) / yMax);
  for (const f of [0, 0.5, 1]) {
    svg.append(svgEl("line", {class: f ? "grid" : "axis", x1: left, x2: w - right, y1: Y(f * yMax), y2: Y(f * yMax)}));
    const t = svgEl("text", {x: left - 4, y: Y(f * yMax) + 3, "text-anchor": "end"});
    t.textContent = yLabel(f * yMax);
    svg.append(t);
  }
  svg.append(svgEl("line", {class: "axis", x1: left, x2: left, y1: top, y2: h - bottom}));
  for (const [x, anchor] of [[0, "start"], [xMax, "end"]]) {
    const t = svgEl("text", {x: X(x), y: h - 6, "text-anchor": anchor});
    t.textContent = x ? `${x.toLocaleString()} SGD steps` : "0";
    svg.append(t);
  }
  let points = 0;
  for (const s of series) {
    if (!s.points.length) continue;
    points += s.points.length;
    const d = s.points.map(([x, y], i) => `${i ? "L" : "M"}${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join("");
    svg.append(svgEl("path", {class: s.cls, d}));
    if (s.dots && s.points.length <= 60) {
      for (const [x, y] of s.points) svg.append(svgEl("circle", {class: s.cls, cx: X(x), cy: Y(y), r: 2}));
    }
  }
  if (!points) {
    const t = svgEl("text", {class: "empty", x: w / 2, y: h / 2, "text-anchor": "middle"});
    t.textContent = "no steps yet: start training, or take an SGD step";
    svg.append(t);
  }
  box.replaceChildren(svg);
  box.dataset.points = points;
}

function drawCharts() {
  const c = state.curve;
  const last = Math.max(lastStep(), c.batch.length ? c.batch[c.batch.length - 1][0] : 0);
  const xMax = niceMax(Math.max(20, last));
  const testLoss = c.test.map(([x, , l]) => [x, l]);
  const losses = [...c.batch.map((p) => p[1]), ...testLoss.map((p) => p[1])];
  const lossMax = niceMax(Math.max(0.5, ...losses));
  chart($("loss-chart"), [
    {cls: "batch", points: c.batch},
    {cls: "test", points: testLoss, dots: true},
  ], lossMax, (y) => (y ? fmt(y, 2).replace(/\.?0+$/, "") : "0"), xMax);
  chart($("acc-chart"), [
    {cls: "acc", points: c.test.map(([x, a]) => [x, a]), dots: true},
  ], 1, (y) => `${Math.round(100 * y)}%`, xMax);
  $("loss-chart").dataset.batch = c.batch.length;
  $("acc-chart").dataset.last = c.test.length ? c.test[c.test.length - 1][1] : "";
}

// --- start ----------------------------------------------------------------------------

async function start() {
  try {
    state.info = await api("/api/info");
    $("model-info").textContent = `${state.info.model}, ${state.info.parameters.toLocaleString()} parameters; ${state.info.about}`;
    $("test-index").max = state.info.test_digits - 1;
    $("lr").max = state.info.lr_max;
    $("train-lr").max = state.info.train.lr_max;
    $("batch-size").max = state.info.train.batch_max;
    $("train-digits").textContent = state.info.train.digits.toLocaleString();
    $("test-digits").textContent = state.info.test_digits.toLocaleString();
    drawCharts();
    markTraining();
    setupPad();
    buildControls();
    await newSession();
    await pickTest("label=3");
  } catch (e) {
    setStatus(`Could not start: ${e.message}`, "error");
  }
}

start();
