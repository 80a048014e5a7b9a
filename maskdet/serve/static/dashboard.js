// The dashboard: polls the API (cameras every second, events every two, the compliance
// chart every five) and shows each camera's live view, state, counts and chart.
"use strict";

const LABEL_NAMES = { with_mask: "masked", without_mask: "no mask", mask_weared_incorrect: "mask worn wrong" };
const cards = new Map();
let imagesOn = true;
let lastEvent = 0;
let locked = false;

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) { showLogin(); throw new Error("unauthorized"); }
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.status === 204 ? null : response.json();
}

function showLogin() {
  locked = true;
  document.getElementById("login").hidden = false;
}

document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = document.getElementById("token").value.trim();
  const response = await fetch("/v1/session", { method: "POST", credentials: "same-origin",
                                                headers: { Authorization: `Bearer ${token}` } });
  if (response.ok) { location.reload(); }
  else { document.getElementById("login-error").textContent = "wrong token"; }
});

function element(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") el.className = value; else el.setAttribute(key, value);
  }
  for (const child of children) el.append(child);
  return el;
}

function percent(rate) { return rate === null || rate === undefined ? "–" : `${Math.round(rate * 100)} %`; }

function makeCard(camera) {
  const card = element("article", { class: "camera", id: `camera-${camera.id}`, "data-camera": camera.id });
  const state = element("span", { class: "state" });
  card.append(element("h2", {}, element("span", { class: "name" }, camera.name), state));
  let img = null;
  if (imagesOn) {
    img = element("img", { alt: `live view of ${camera.name}`, class: "live" });
    img.src = `/v1/cameras/${encodeURIComponent(camera.id)}/live.mjpg`;
    card.append(img);
  }
  const numbers = element("div", { class: "numbers" });
  const chart = element("canvas", { class: "chart", width: "400", height: "90" });
  const button = element("button", { type: "button" }, "Pause");
  button.addEventListener("click", async () => {
    const action = button.dataset.action;
    await api(`/v1/cameras/${encodeURIComponent(camera.id)}/${action}`, { method: "POST" });
    refresh();
  });
  card.append(numbers, element("div", { class: "muted" }, "Compliance, last 10 minutes"), chart, button);
  document.getElementById("cameras").append(card);
  const entry = { card, state, numbers, chart, button, img };
  cards.set(camera.id, entry);
  return entry;
}

function showCamera(camera) {
  const entry = cards.get(camera.id) || makeCard(camera);
  entry.state.textContent = camera.state;
  entry.state.className = `state ${camera.state}`;
  entry.card.dataset.frames = camera.frames;
  entry.card.dataset.state = camera.state;
  const faces = Object.values(camera.in_view).reduce((a, b) => a + b, 0);
  const cells = [
    ["frames", camera.frames], ["fps", camera.fps.toFixed(1)], ["faces in view", faces],
    ...Object.entries(camera.people).filter(([k]) => !["compliant", "violating"].includes(k))
      .map(([label, n]) => [`people ${LABEL_NAMES[label] || label}`, n]),
    ["masked 1 min", percent(camera.compliance["1m"])],
    ["10 min", percent(camera.compliance["10m"])], ["1 h", percent(camera.compliance["1h"])],
    ["alerts", camera.alerts], ["reconnects", camera.reconnects], ["dropped", camera.dropped],
  ];
  entry.numbers.replaceChildren(...cells.map(([name, value]) =>
    element("div", { "data-name": name }, `${name} `, element("b", {}, String(value)))));
  const paused = camera.state === "paused" || camera.state === "failed" || camera.state === "ended";
  entry.button.textContent = paused ? "Resume" : "Pause";
  entry.button.dataset.action = paused ? "resume" : "pause";
}

// The compliance rate per 10 s over the last 10 minutes: a line through the points, a dot
// for each (a lone point shows too), gaps where no face was seen.
function drawChart(canvas, series) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, left = 34;
  const y = (rate) => h - 6 - rate * (h - 14);
  const x = (i) => left + (i + 0.5) * (w - left) / series.length;
  ctx.clearRect(0, 0, w, h);
  ctx.font = "10px system-ui, sans-serif";
  ctx.fillStyle = "#888";
  ctx.strokeStyle = "#e3e3e3";
  ctx.lineWidth = 1;
  for (const rate of [0, 0.5, 1]) {
    ctx.beginPath(); ctx.moveTo(left, y(rate)); ctx.lineTo(w, y(rate)); ctx.stroke();
    ctx.fillText(`${rate * 100} %`, 2, y(rate) + 3);
  }
  ctx.strokeStyle = "#1a7f37"; ctx.fillStyle = "#1a7f37"; ctx.lineWidth = 2;
  ctx.beginPath();
  let drawing = false;
  series.forEach((point, i) => {
    if (point.rate === null) { drawing = false; return; }
    if (drawing) ctx.lineTo(x(i), y(point.rate)); else ctx.moveTo(x(i), y(point.rate));
    drawing = true;
  });
  ctx.stroke();
  series.forEach((point, i) => {
    if (point.rate === null) return;
    ctx.beginPath(); ctx.arc(x(i), y(point.rate), 2.5, 0, 2 * Math.PI); ctx.fill();
  });
  canvas.dataset.points = series.filter((p) => p.rate !== null).length;
}

async function refresh() {
  if (locked) return;
  const cameras = await api("/v1/cameras");
  document.getElementById("no-cameras").hidden = cameras.length > 0;
  const ids = new Set(cameras.map((c) => c.id));
  for (const [id, entry] of cards) if (!ids.has(id)) { entry.card.remove(); cards.delete(id); }
  cameras.forEach(showCamera);
}

async function refreshCharts() {
  if (locked) return;
  for (const [id, entry] of cards) {
    const data = await api(`/v1/cameras/${encodeURIComponent(id)}/compliance?window=600&step=10`);
    drawChart(entry.chart, data.series);
  }
}

async function refreshEvents() {
  if (locked) return;
  const data = await api(`/v1/events?after=${lastEvent}`);
  const list = document.getElementById("events");
  for (const event of data.events) {
    lastEvent = Math.max(lastEvent, event.id);
    const when = new Date(event.time * 1000).toLocaleTimeString();
    const item = element("li", { "data-event": event.id });
    if (imagesOn && event.snapshot_url) item.append(element("img", { src: event.snapshot_url, alt: "snapshot" }));
    item.append(element("div", {}, element("b", {}, `${event.camera}`), ` ${LABEL_NAMES[event.label] || event.label}`,
      element("br"), `${event.duration.toFixed(1)} s, track ${event.track}, ${when}`));
    list.prepend(item);
  }
  while (list.children.length > 50) list.lastChild.remove();
}

async function start() {
  try {
    const health = await api("/v1/health");
    imagesOn = !health.stats_only;
    document.getElementById("service").textContent =
      `maskdet ${health.version}${health.stats_only ? " · numbers only" : health.blur_faces ? " · faces blurred" : ""}`;
  } catch (error) { return; }
  const every = (fn, ms) => { const run = () => fn().catch(() => {}); run(); setInterval(run, ms); };
  every(refresh, 1000);
  every(refreshEvents, 2000);
  every(refreshCharts, 3000);
}

start();
