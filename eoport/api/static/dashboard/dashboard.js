/* eoport latency dashboard: renders /dashboard/api/snapshot, kept live by the
 * server-sent events of /dashboard/api/stream. Plain JS, no build step; the map uses the
 * Leaflet copy served from /dashboard/static/vendor (no external URL is loaded). */
"use strict";

const SEGMENT_COLORS = {
  to_station: "#6c7a89", to_kafka: "#8e6cc4", assemble: "#3f8fd2", aux: "#36b3b3",
  publish: "#7f9c3a", queue: "#c9a227", focus: "#e07b39", write: "#c4547f", deliver: "#4caf50",
};
const ERROR_KINDS = ["focus-failed", "rejected-chunk", "burst-dropped", "corrupt"];

const state = { passKey: null, source: null, map: null, mapLayer: null, mapFitted: null, last: null };

function $(sel) { return document.querySelector(sel); }
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  if (text !== undefined) e.textContent = text;
  return e;
}
function svgEl(tag, attrs, text) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function fmtS(v) { return v === null || v === undefined ? "–" : v.toFixed(2) + " s"; }
function fmtN(v) { return v === null || v === undefined ? "–" : String(v); }
function fmtRate(v) { return v === null || v === undefined ? "–" : v.toFixed(1); }
function setFigure(name, text, value) {
  const node = document.querySelector(`[data-figure="${name}"]`);
  if (!node) return;
  node.textContent = text;
  node.dataset.value = value === null || value === undefined ? "" : String(value);
}
function t(iso) { return Date.parse(iso) / 1000; }
function clock(iso) { return iso ? new Date(iso).toISOString().substring(11, 19) : ""; }

/* ------------------------------------------------------------------ figures */

function renderFigures(s) {
  const total = s.latency.segments.find((x) => x.stage === "total");
  setFigure("total-p50", fmtS(total.p50_s), total.p50_s);
  setFigure("total-p95", fmtS(total.p95_s), total.p95_s);
  setFigure("total-p99", fmtS(total.p99_s), total.p99_s);
  setFigure("total-count", fmtN(total.count), total.count);
  setFigure("total-late", fmtN(total.late), total.late);
  setFigure("total-budget", fmtS(total.budget_s), total.budget_s);
  const sel = (s.pass_key && s.selection.per_pass[s.pass_key]) || s.selection.counts;
  setFigure("focused", fmtN(sel.product), sel.product);
  setFigure("skipped", fmtN(sel.skipped), sel.skipped);
  setFigure("failed", fmtN(sel.failed), sel.failed);
  setFigure("pending", fmtN(sel.pending), sel.pending);
  setFigure("chunks-per-s", fmtRate(s.throughput.chunks_per_s), s.throughput.chunks_per_s);
  setFigure("chunks-total", fmtN(s.throughput.chunks_total), s.throughput.chunks_total);
  const jobs = s.backlog.topics.find((x) => x.bursts !== null && x.topic.includes("focus"))
    || s.backlog.topics.find((x) => x.bursts !== null);
  setFigure("backlog-bursts", jobs ? fmtN(jobs.bursts) : "–", jobs ? jobs.bursts : null);
  setFigure("backlog-sensing", jobs ? fmtS(jobs.sensing_s) : "–", jobs ? jobs.sensing_s : null);
  setFigure("workers-running", fmtN(s.workers.running), s.workers.running);
  setFigure("workers-concurrent", fmtN(s.workers.max_concurrent_focus), s.workers.max_concurrent_focus);
  const pass = s.passes.find((p) => p.pass_key === s.pass_key);
  const ev = pass ? pass.events : {};
  const errors = ERROR_KINDS.reduce((n, k) => n + (ev[k] || 0), 0);
  setFigure("events-gap", fmtN(ev.gap || 0), ev.gap || 0);
  setFigure("events-incomplete", fmtN(ev["burst-incomplete"] || 0), ev["burst-incomplete"] || 0);
  setFigure("events-errors", fmtN(errors), errors);
}

/* ------------------------------------------------------------------ passes */

function renderPasses(s) {
  const select = $("#pass-select");
  const keys = s.passes.map((p) => p.pass_key);
  const current = Array.from(select.options).map((o) => o.value);
  if (keys.join("|") !== current.join("|")) {
    select.textContent = "";
    for (const p of s.passes) select.appendChild(el("option", { value: p.pass_key }));
  }
  s.passes.forEach((p, i) => {
    select.options[i].textContent = `${p.pass_key} (${p.bursts} burst${p.bursts === 1 ? "" : "s"})`;
  });
  select.value = s.pass_key || "";
  const pass = s.passes.find((p) => p.pass_key === s.pass_key);
  $("#pass-title").textContent = pass ? `of ${pass.pass_key} · data take ${pass.data_takes.join(", ")}` : "";
  let info = "";
  if (pass) {
    info = `${pass.bursts} bursts · ${pass.incomplete} incomplete · ${pass.late} late`;
    if (pass.replay_offset_s > 0) info += " · replay (sensing times shifted)";
  }
  $("#pass-info").textContent = info;
}

/* ------------------------------------------------------------------ burst rows */

function renderLegend() {
  const legend = $("#legend");
  if (legend.childElementCount) return;
  const sensing = el("span");
  sensing.appendChild(el("i", { style: "background:#3b4a5c" }));
  sensing.appendChild(document.createTextNode("sensing"));
  legend.appendChild(sensing);
  for (const [name, color] of Object.entries(SEGMENT_COLORS)) {
    const item = el("span");
    item.appendChild(el("i", { style: `background:${color}` }));
    item.appendChild(document.createTextNode(name));
    legend.appendChild(item);
  }
  const late = el("span");
  late.appendChild(el("i", { style: "outline:2px solid #ff5d5d" }));
  late.appendChild(document.createTextNode("over budget"));
  legend.appendChild(late);
}

function renderBursts(s) {
  const rows = $("#rows");
  rows.textContent = "";
  const bursts = s.bursts;
  let t0 = Infinity, t1 = -Infinity;
  for (const b of bursts) {
    for (const iso of Object.values(b.stamps)) {
      const v = t(iso);
      t0 = Math.min(t0, v); t1 = Math.max(t1, v);
    }
  }
  if (!isFinite(t0) || t1 <= t0) t1 = t0 + 1;
  const span = t1 - t0;
  const pos = (v) => (100 * (v - t0)) / span;
  const axis = $("#axis");
  axis.textContent = "";
  if (bursts.length) {
    const step = niceStep(span / 8);
    for (let x = 0; x <= span + 1e-9; x += step) {
      axis.appendChild(el("span", { style: `left:${(100 * x) / span}%` }, `${x.toFixed(step < 1 ? 1 : 0)} s`));
    }
  }
  for (const b of bursts) {
    const row = el("div", { class: `burst-row outcome-${b.outcome}`, "data-burst": b.burst_key,
      "data-outcome": b.outcome, "data-late": b.late.join(" ") });
    const label = `${b.swath || "?"} ${b.burst_label || b.burst_id || ""}`;
    row.appendChild(el("div", { class: "label", title: b.burst_key }, label));
    const track = el("div", { class: "track" });
    const st = b.stamps;
    if (st.sensing_start && st.sensing_stop) {
      const a = pos(t(st.sensing_start)), z = pos(t(st.sensing_stop));
      track.appendChild(el("div", { class: "bar sensing", style: `left:${a}%;width:${Math.max(z - a, 0.2)}%`,
        title: `sensing ${clock(st.sensing_start)}–${clock(st.sensing_stop)}` }));
    }
    for (const seg of s.latency.segments) {
      if (seg.stage === "total" || !(seg.stage in b.segments)) continue;
      const stop = segmentStop(seg.stage);
      const start = segmentStart(seg.stage);
      if (!st[start] || !st[stop]) continue;
      const a = pos(t(st[start])), z = pos(t(st[stop]));
      const late = b.late.includes(seg.stage);
      const bar = el("div", {
        class: `bar seg-${seg.stage}${late ? " late" : ""}`, "data-stage": seg.stage,
        style: `left:${Math.min(a, z)}%;width:${Math.max(Math.abs(z - a), 0.25)}%;background:${SEGMENT_COLORS[seg.stage]}`,
        title: `${seg.stage}: ${b.segments[seg.stage].toFixed(3)} s${late ? " (over budget)" : ""}`,
      });
      track.appendChild(bar);
    }
    row.appendChild(track);
    const info = el("div", { class: "info" });
    if (b.status === "incomplete") info.appendChild(el("span", { class: "badge incomplete" }, "incomplete"));
    if (b.outcome === "failed") info.appendChild(el("span", { class: "badge failed" }, "failed"));
    if (b.outcome === "skipped") info.appendChild(el("span", { class: "badge skipped" }, "skipped"));
    if (b.late.length) info.appendChild(el("span", { class: "badge late" }, `late: ${b.late.join(", ")}`));
    const total = b.segments.total;
    const text = (total !== undefined ? `total ${total.toFixed(2)} s ` : "") + b.reasons.join("; ");
    info.appendChild(document.createTextNode(text));
    info.title = b.reasons.join("\n");
    row.appendChild(info);
    rows.appendChild(row);
  }
}

const SEGMENT_ENDS = {
  to_station: ["sensing_stop", "station_receive"], to_kafka: ["station_receive", "kafka_append"],
  assemble: ["kafka_append", "burst_complete"], aux: ["burst_complete", "aux_complete"],
  publish: ["aux_complete", "job_append"], queue: ["job_append", "focus_start"],
  focus: ["focus_start", "focus_end"],
  write: ["focus_end", "product_written"], deliver: ["product_written", "delivered"],
};
function segmentStart(name) { return SEGMENT_ENDS[name][0]; }
function segmentStop(name) { return SEGMENT_ENDS[name][1]; }
function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-3))));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/* ------------------------------------------------------------------ latency */

function renderHistogram(s) {
  const svg = $("#histogram");
  svg.textContent = "";
  const total = s.latency.segments.find((x) => x.stage === "total");
  const bounds = s.latency.bounds_s;
  const all = total.histogram;
  // show the buckets around the data (at least 8), not all 18
  const used = all.map((c, i) => (c ? i : -1)).filter((i) => i >= 0);
  let lo = used.length ? Math.max(0, used[0] - 2) : 0;
  let hi = used.length ? Math.min(all.length - 1, used[used.length - 1] + 2) : all.length - 1;
  while (hi - lo + 1 < 8 && (lo > 0 || hi < all.length - 1)) {
    if (hi < all.length - 1) hi += 1;
    if (hi - lo + 1 < 8 && lo > 0) lo -= 1;
  }
  const counts = all.slice(lo, hi + 1);
  const W = 520, H = 220, L = 30, B = 30, n = counts.length;
  const bw = (W - L - 10) / n;
  const max = Math.max(1, ...counts);
  const label = (i) => (i < bounds.length ? `≤${bounds[i]}` : `>${bounds[bounds.length - 1]}`);
  counts.forEach((c, k) => {
    const i = lo + k;
    const h = ((H - B - 40) * c) / max;
    const x = L + k * bw;
    svg.appendChild(svgEl("rect", { x: x + 1, y: H - B - h, width: bw - 2, height: h, fill: "#3f8fd2",
      "data-bucket": i, "data-count": c }));
    if (c) svg.appendChild(svgEl("text", { x: x + bw / 2, y: H - B - h - 3, "text-anchor": "middle" }, String(c)));
    svg.appendChild(svgEl("text", { x: x + bw / 2, y: H - B + 12, "text-anchor": "middle" }, label(i)));
  });
  svg.appendChild(svgEl("text", { x: L, y: H - 4 }, "seconds (bucket upper bound)"));
  const xOf = (v) => {
    let i = bounds.findIndex((b) => v <= b);
    if (i < 0) i = bounds.length;
    const a = i === 0 ? 0 : bounds[i - 1];
    const z = i < bounds.length ? bounds[i] : a * 2;
    return L + (i - lo + Math.min(1, Math.max(0, (v - a) / (z - a || 1)))) * bw;
  };
  let row = 0;
  for (const [name, v, color] of [["p50", total.p50_s, "#7fd4ff"], ["p95", total.p95_s, "#ffb347"],
    ["p99", total.p99_s, "#ff5d5d"]]) {
    if (v === null) continue;
    const x = xOf(v);
    svg.appendChild(svgEl("line", { x1: x, x2: x, y1: 30, y2: H - B, stroke: color, "stroke-dasharray": "4 3" }));
    svg.appendChild(svgEl("text", { x: W - 12, y: 14 + 13 * row, "text-anchor": "end",
      style: `fill:${color};font-size:12px` }, `${name} ${v.toFixed(2)} s`));
    row += 1;
  }
}

function renderStages(s) {
  const body = $("#stages tbody");
  body.textContent = "";
  for (const seg of s.latency.segments) {
    const tr = el("tr", { "data-stage": seg.stage });
    tr.appendChild(el("td", {}, seg.stage));
    tr.appendChild(el("td", {}, fmtN(seg.count)));
    for (const v of [seg.p50_s, seg.p95_s, seg.p99_s]) {
      tr.appendChild(el("td", { class: v !== null && v > seg.budget_s ? "late" : "" }, fmtS(v)));
    }
    tr.appendChild(el("td", {}, fmtS(seg.budget_s)));
    tr.appendChild(el("td", { class: seg.late ? "late" : "" }, fmtN(seg.late)));
    body.appendChild(tr);
  }
}

/* ------------------------------------------------------------------ throughput, backlog */

function renderThroughput(s) {
  const svg = $("#throughput");
  svg.textContent = "";
  const series = s.throughput.series;
  const W = 520, H = 160, L = 30, B = 20;
  const bw = (W - L - 10) / Math.max(1, series.length);
  const maxP = Math.max(1, ...series.map((p) => Math.max(p.products, p.bursts)));
  const rates = series.map((p) => p.chunks_per_s).filter((v) => v !== null);
  const maxR = Math.max(1, ...rates);
  series.forEach((p, i) => {
    const x = L + i * bw;
    const hb = ((H - B - 10) * p.bursts) / maxP, hp = ((H - B - 10) * p.products) / maxP;
    svg.appendChild(svgEl("rect", { x: x + 1, y: H - B - hb, width: bw / 2 - 1, height: hb, fill: "#3f8fd2" }));
    svg.appendChild(svgEl("rect", { x: x + bw / 2, y: H - B - hp, width: bw / 2 - 1, height: hp, fill: "#4caf50" }));
  });
  const pts = series.map((p, i) => (p.chunks_per_s === null ? null
    : `${L + (i + 0.5) * bw},${H - B - ((H - B - 10) * p.chunks_per_s) / maxR}`)).filter((x) => x);
  if (pts.length > 1) svg.appendChild(svgEl("polyline", { points: pts.join(" "), fill: "none", stroke: "#e07b39", "stroke-width": 2 }));
  svg.appendChild(svgEl("text", { x: L, y: 12 }, `bursts (blue), products (green) per ${s.throughput.window_s} s; chunks/s (orange, max ${maxR.toFixed(1)})`));
}

function renderBacklog(s) {
  const body = $("#backlog tbody");
  body.textContent = "";
  for (const e of s.backlog.topics) {
    const tr = el("tr", { "data-topic": e.topic });
    tr.appendChild(el("td", {}, e.topic));
    tr.appendChild(el("td", {}, e.group));
    tr.appendChild(el("td", {}, fmtN(e.records)));
    tr.appendChild(el("td", {}, fmtN(e.bursts)));
    tr.appendChild(el("td", {}, fmtS(e.sensing_s)));
    const g = e.growth_per_s;
    tr.appendChild(el("td", { class: g !== null && g > 0 ? "late" : "" },
      g === null ? "–" : `${g > 0 ? "▲" : g < 0 ? "▼" : "="} ${Math.abs(g).toFixed(2)}/s`));
    body.appendChild(tr);
  }
  const dec = $("#decisions tbody");
  dec.textContent = "";
  for (const d of s.workers.decisions) {
    const tr = el("tr");
    const when = typeof d.time === "number" ? new Date(d.time * 1000).toISOString().substring(11, 19) : String(d.time || "");
    tr.appendChild(el("td", {}, when));
    tr.appendChild(el("td", {}, String(d.action || "")));
    tr.appendChild(el("td", {}, `${d.current ?? "?"} → ${d.replicas ?? "?"}`));
    tr.appendChild(el("td", { style: "text-align:left" }, String(d.reason || "")));
    dec.appendChild(tr);
  }
}

/* ------------------------------------------------------------------ events, map */

function renderEvents(s) {
  const list = $("#events");
  list.textContent = "";
  for (const e of s.events) {
    const li = el("li", { "data-kind": e.kind });
    li.appendChild(el("time", {}, clock(e.time)));
    li.appendChild(el("span", { class: `kind ${e.kind}` }, e.kind));
    li.appendChild(document.createTextNode(`${e.burst_key || e.source}: ${e.reason}`));
    list.appendChild(li);
  }
  if (!s.events.length) list.appendChild(el("li", {}, "none"));
}

function renderMap(s) {
  if (typeof L === "undefined") return;
  if (!state.map) {
    state.map = L.map("map", { attributionControl: false, worldCopyJump: false, zoomSnap: 0.25 });
    const grat = [];
    for (let lon = -180; lon <= 180; lon += 10) grat.push([[-85, lon], [85, lon]]);
    for (let lat = -80; lat <= 80; lat += 10) grat.push([[lat, -180], [lat, 180]]);
    L.polyline(grat, { color: "#233243", weight: 1, interactive: false }).addTo(state.map);
    state.map.setView([45, 10], 4);
  }
  if (state.mapLayer) state.mapLayer.remove();
  state.mapLayer = L.geoJSON(s.map, {
    style: (f) => (f.properties.kind === "aoi"
      ? { color: "#ffb347", weight: 2, fillOpacity: 0.15, dashArray: "4 3" }
      : { color: "#7fd4ff", weight: 1, fillOpacity: 0.25 }),
    onEachFeature: (f, layer) => {
      const p = f.properties;
      layer.bindTooltip(p.kind === "aoi" ? `AOI ${p.name || p.subscription_id}` : `${p.burst_key}`);
    },
  }).addTo(state.map);
  // fit the pass's footprints (the AOIs when there is none yet), once per change
  const key = `${s.pass_key}:${s.map.features.length}`;
  if (state.mapFitted !== key && s.map.features.length) {
    const footprints = s.map.features.filter((f) => f.properties.kind === "footprint");
    const shown = footprints.length ? footprints : s.map.features;
    const bounds = L.geoJSON({ type: "FeatureCollection", features: shown }).getBounds();
    if (bounds.isValid()) state.map.fitBounds(bounds.pad(0.3));
    state.mapFitted = key;
  }
  const node = $("#map");
  node.dataset.footprints = String(s.map.features.filter((f) => f.properties.kind === "footprint").length);
  node.dataset.aois = String(s.map.features.filter((f) => f.properties.kind === "aoi").length);
}

/* ------------------------------------------------------------------ live updates */

function render(s) {
  state.last = s;
  renderPasses(s);
  renderFigures(s);
  renderLegend();
  renderBursts(s);
  renderHistogram(s);
  renderStages(s);
  renderThroughput(s);
  renderBacklog(s);
  renderEvents(s);
  renderMap(s);
  document.body.dataset.version = String(s.version);
  document.body.dataset.passKey = s.pass_key || "";
  $("#updated").textContent = `updated ${new Date(s.generated * 1000).toISOString().substring(11, 19)} UTC`;
}

function connect() {
  if (state.source) state.source.close();
  const q = state.passKey ? `?pass_key=${encodeURIComponent(state.passKey)}` : "";
  const source = new EventSource(`/dashboard/api/stream${q}`);
  state.source = source;
  const status = $("#status");
  source.addEventListener("open", () => { status.textContent = "live"; status.className = "status live"; });
  source.addEventListener("error", () => { status.textContent = "reconnecting…"; status.className = "status down"; });
  source.addEventListener("snapshot", (ev) => {
    status.textContent = "live"; status.className = "status live";
    render(JSON.parse(ev.data));
  });
}

$("#pass-select").addEventListener("change", (ev) => {
  state.passKey = ev.target.value || null;
  state.mapFitted = null;
  connect();
});
connect();
