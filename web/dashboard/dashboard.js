// Tracklet dashboard. Plain JavaScript, no build step, no dependencies.
//
// Safety rule for this file: every value that comes from the collector (and
// so, ultimately, from any website that sends events) is written with
// textContent or as a text node. Nothing here assigns innerHTML, outerHTML or
// insertAdjacentHTML, and nothing builds markup from strings.
//
// The admin token is kept in sessionStorage (this tab only) and sent as
// "Authorization: Bearer" on every request, including the live stream, which
// is read with fetch streaming rather than EventSource because EventSource
// cannot send headers and a token in the URL would end up in logs.
"use strict";

const TOKEN_KEY = "tracklet-admin-token";
const STREAM_ROWS = 200; // rows kept in the live table
const STATS_EVERY = 5000; // ms between stats refreshes when nothing arrives
const $ = (id) => document.getElementById(id);

const state = {
  trackers: [],
  tracker: "", // selected trackingId
  rows: [], // live events, newest first: {seq, receivedAt, trackingId, sessionId, userId, event}
  selectedSeq: null,
  lastSeq: 0, // resume point for the stream
  streamAbort: null,
  statsTimer: 0,
  statsSoon: 0,
};

// el builds an element. attrs holds DOM properties (never HTML); children
// are nodes or strings, and strings become text nodes.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node[k] = v;
  node.append(...children.filter((c) => c !== null && c !== undefined).map((c) => (typeof c === "object" ? c : String(c))));
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

// ---- authentication ----

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

class Unauthorized extends Error {}

async function api(path, init = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + token() }, init.headers || {});
  const res = await fetch(path, Object.assign({}, init, { headers, cache: "no-store" }));
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) throw new Unauthorized(body.message || "the collector refused the admin token");
  if (!res.ok) throw new Error(body.message || res.status + " " + res.statusText);
  return body;
}

function showLogin(message) {
  stopStream();
  clearInterval(state.statsTimer);
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("token").focus();
}

async function signIn(tok) {
  sessionStorage.setItem(TOKEN_KEY, tok);
  try {
    await loadTrackers();
  } catch (err) {
    if (err instanceof Unauthorized) {
      sessionStorage.removeItem(TOKEN_KEY);
      // "The admin API is off" says more than "refused".
      showLogin(/ is off/.test(err.message) ? err.message : tok ? "That token was refused." : "");
      return;
    }
    throw err;
  }
  $("login").hidden = true;
  $("app").hidden = false;
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("tracker");
  $("no-trackers").hidden = state.trackers.length > 0;
  const pick = state.trackers.find((t) => t.trackingId === fromHash) || state.trackers[0];
  selectTracker(pick ? pick.trackingId : "");
}

// guard runs an async action and turns a refused token into the login form.
function guard(promise) {
  return promise.catch((err) => {
    if (err instanceof Unauthorized) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin("Your token is no longer accepted.");
    } else {
      console.error(err);
    }
  });
}

// ---- trackers ----

async function loadTrackers() {
  const body = await api("/v1/trackers");
  state.trackers = body.trackers || [];
  renderTrackers();
  loadRelay();
}

// loadRelay reads each tracker's relay to Personalize (GET /v1/relay).
function loadRelay() {
  guard(api("/v1/relay").then((body) => {
    state.relay = Object.fromEntries((body.links || []).map((l) => [l.trackingId, l]));
    renderTrackers();
  }));
}

// relayCell is one tracker's relay state: not linked, or its state (idle,
// relaying, retrying) with what it sent, refused and has left to send.
function relayCell(t) {
  const l = (state.relay || {})[t.trackingId];
  if (!l) return el("span", { className: "muted", textContent: "not linked" });
  const text = l.state + " · " + fmtCount(l.relayed) + " relayed, " + fmtCount(l.refused) + " refused, " +
    fmtCount(l.pending) + " pending";
  return el("span", { className: "relay-" + l.state, textContent: text,
    title: l.personalizeTrackingId + " at " + l.url + (l.lastError ? "\nlast error: " + l.lastError : "") });
}

function renderTrackers() {
  const select = $("tracker");
  select.replaceChildren(...state.trackers.map((t) =>
    el("option", { value: t.trackingId, textContent: (t.name || t.trackingId) + (t.disabled ? " (disabled)" : "") })));
  select.value = state.tracker;
  $("trackers").replaceChildren(...state.trackers.map((t) => {
    const show = el("button", { type: "button", textContent: "Script tag" });
    show.onclick = () => showSnippet(t);
    return el("tr", { className: t.disabled ? "off" : "" },
      el("td", {}, t.name || ""),
      el("td", { className: "mono" }, t.trackingId),
      el("td", {}, (t.origins || []).join(", ") || el("span", { className: "muted", textContent: "any origin" })),
      el("td", { className: "relay" }, relayCell(t)),
      el("td", {}, show));
  }));
}

// scriptTag is what a site owner pastes into their pages: the one-line stub
// that queues early calls, then the loader, exactly as in the README.
function scriptTag(trackingId) {
  return '<script>window.tracklet=window.tracklet||{q:[]};["init","track","identify","reset","flush","consent","optIn","optOut","on"].forEach(function(m){window.tracklet[m]=window.tracklet[m]||function(){window.tracklet.q.push([m,arguments,Date.now()])}})</script>\n' +
    '<script async src="' + location.origin + '/tracklet.js" data-tracking-id="' + trackingId + '"></script>';
}

function showSnippet(t) {
  $("snippet-box").hidden = false;
  $("snippet-name").textContent = t.name || t.trackingId;
  $("snippet").textContent = scriptTag(t.trackingId);
  $("copied").textContent = "";
}

async function copySnippet() {
  const text = $("snippet").textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard API (an insecure origin): select it for Ctrl+C instead.
    const range = document.createRange();
    range.selectNodeContents($("snippet"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    $("copied").textContent = "selected: press Ctrl+C";
    return;
  }
  $("copied").textContent = "copied";
}

async function createTracker(e) {
  e.preventDefault();
  $("create-error").textContent = "";
  const origins = $("new-origins").value.split(/[\s,]+/).filter(Boolean);
  try {
    const t = await api("/v1/trackers", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: $("new-name").value.trim(), origins }),
    });
    $("create").reset();
    await loadTrackers();
    selectTracker(t.trackingId);
    showSnippet(t);
  } catch (err) {
    if (err instanceof Unauthorized) return guard(Promise.reject(err));
    $("create-error").textContent = err.message;
  }
}

function selectTracker(id) {
  state.tracker = id;
  $("tracker").value = id;
  history.replaceState(null, "", id ? "#tracker=" + encodeURIComponent(id) : "#");
  state.rows = [];
  state.lastSeq = 0;
  state.selectedSeq = null;
  renderStream();
  showDetail(null);
  clearInterval(state.statsTimer);
  if (!id) return;
  refreshStats();
  state.statsTimer = setInterval(refreshStats, STATS_EVERY);
  startStream();
}

// ---- numbers, chart, event types, rejected ----

function refreshStats() {
  const id = state.tracker;
  if (!id) return;
  const q = "?trackingId=" + encodeURIComponent(id);
  guard(api("/v1/traffic" + q).then((s) => { if (id === state.tracker) renderStats(s); }));
  guard(api("/v1/rejected" + q + "&limit=50").then((r) => { if (id === state.tracker) renderRejected(r.rejected || []); }));
  loadRelay();
}

// statsSoon refreshes the numbers shortly after live events arrive, at most
// once a second however fast they come.
function statsSoon() {
  if (state.statsSoon) return;
  state.statsSoon = setTimeout(() => { state.statsSoon = 0; refreshStats(); }, 1000);
}

function fmtCount(n) { return Number(n || 0).toLocaleString("en"); }

function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  const a = Math.abs(ms);
  const sign = ms < 0 ? "−" : "";
  if (a < 1000) return sign + Math.round(a) + " ms";
  if (a < 120000) return sign + (a / 1000).toFixed(a < 10000 ? 2 : 1) + " s";
  if (a < 7200000) return sign + (a / 60000).toFixed(1) + " min";
  return sign + (a / 3600000).toFixed(1) + " h";
}

function renderStats(s) {
  $("stat-events").textContent = fmtCount(s.events);
  $("stat-sessions").textContent = fmtCount(s.activeSessions);
  $("stat-duplicates").textContent = fmtCount(s.duplicates);
  $("stat-rejected").textContent = fmtCount(s.rejected);
  $("stat-delay").textContent = fmtMs(s.medianDelayMs);
  $("stat-skew").textContent = fmtMs(s.clockSkewMs);
  renderChart(s.perMinute || [], s.from);
  const types = s.byEventType || [];
  const max = Math.max(1, ...types.map((t) => t.count));
  $("types").replaceChildren(...types.map((t) => {
    const fill = el("span");
    fill.style.width = (100 * t.count / max).toFixed(1) + "%";
    return el("tr", {},
      el("td", { className: "mono" }, t.eventType),
      el("td", { className: "n" }, fmtCount(t.count)),
      el("td", { className: "meter-cell" }, el("div", { className: "meter" }, fill)));
  }));
  $("types-empty").hidden = types.length > 0;
}

function hhmm(ms) { return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }

// niceMax rounds up to 1, 2 or 5 times a power of ten, for the y axis.
function niceMax(n) {
  if (n <= 5) return 5;
  const p = Math.pow(10, Math.floor(Math.log10(n)));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= n);
}

// renderChart draws one bar per minute, oldest on the left, as SVG.
function renderChart(perMinute, from) {
  const W = 720, H = 200, left = 40, bottom = 22, top = 8;
  const n = perMinute.length || 60;
  const max = niceMax(Math.max(0, ...perMinute));
  const plotH = H - top - bottom, slot = (W - left) / n;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", "data-max": max });
  for (const f of [0, 0.5, 1]) {
    const y = top + plotH * (1 - f);
    root.append(svg("line", { class: "grid", x1: left, x2: W, y1: y, y2: y }));
    root.append(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, fmtCount(max * f)));
  }
  perMinute.forEach((count, i) => {
    if (!count) return;
    const h = Math.max(1.5, plotH * count / max);
    const bar = svg("rect", { class: "bar", x: left + i * slot + 1, y: top + plotH - h, width: Math.max(1, slot - 2), height: h, "data-count": count });
    bar.append(svg("title", {}, hhmm(from + i * 60000) + " — " + fmtCount(count) + " events"));
    root.append(bar);
  });
  for (const i of [0, 15, 30, 45]) {
    root.append(svg("text", { x: left + i * slot, y: H - 6, "text-anchor": i ? "middle" : "start" }, hhmm(from + i * 60000)));
  }
  root.append(svg("text", { x: W, y: H - 6, "text-anchor": "end" }, "now"));
  $("chart").replaceChildren(root);
}

function renderRejected(list) {
  $("rejected").replaceChildren(...list.map((r) => el("tr", {},
    el("td", { className: "when mono" }, new Date(r.receivedAt).toLocaleString()),
    el("td", { className: "status" }, r.status),
    el("td", {}, r.reason),
    el("td", { className: "body mono" }, r.body || ""))));
  $("rejected-empty").hidden = list.length > 0;
}

// ---- live stream (Server-Sent Events over fetch) ----

function filters() {
  const p = new URLSearchParams({ trackingId: state.tracker });
  for (const f of ["eventType", "userId", "sessionId"]) {
    const v = $("f-" + f).value.trim();
    if (v) p.set(f, v);
  }
  return p;
}

function stopStream() {
  if (state.streamAbort) state.streamAbort.abort();
  state.streamAbort = null;
}

function setStatus(cls, text) {
  $("status").className = "status " + cls;
  $("status").textContent = text;
}

// startStream (re)opens the stream for the current tracker and filters and
// keeps it open, reconnecting with backoff and resuming after the last event
// seen (Last-Event-ID).
function startStream() {
  stopStream();
  const ctl = new AbortController();
  state.streamAbort = ctl;
  const url = "/v1/stream?" + filters();
  (async () => {
    let wait = 500;
    while (!ctl.signal.aborted) {
      setStatus("", "connecting…");
      try {
        const headers = { Authorization: "Bearer " + token(), Accept: "text/event-stream" };
        if (state.lastSeq) headers["Last-Event-ID"] = String(state.lastSeq);
        const res = await fetch(url, { headers, signal: ctl.signal, cache: "no-store" });
        if (res.status === 401) throw new Unauthorized();
        if (!res.ok || !res.body) throw new Error("stream: " + res.status);
        setStatus("live", "live");
        wait = 500;
        await readSSE(res.body, onStreamMessage);
      } catch (err) {
        if (ctl.signal.aborted) return;
        if (err instanceof Unauthorized) return guard(Promise.reject(err));
        console.warn(err);
      }
      setStatus("down", "reconnecting…");
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 10000);
    }
  })();
}

// readSSE parses a text/event-stream body and calls onMessage(type, data, id)
// for each message, until the body ends.
async function readSSE(body, onMessage) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let type = "message", data = [], id = null;
      for (const line of block.split("\n")) {
        if (!line || line[0] === ":") continue; // a comment: keep-alive
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") type = val;
        else if (field === "data") data.push(val);
        else if (field === "id") id = val;
      }
      if (data.length) onMessage(type, data.join("\n"), id);
    }
  }
}

function onStreamMessage(type, data, id) {
  if (type === "dropped") {
    const d = JSON.parse(data);
    $("stream-note").textContent = fmtCount(d.missed) + " events skipped: the dashboard fell behind";
    return;
  }
  if (type !== "event") return;
  const ev = JSON.parse(data);
  if (ev.seq <= state.lastSeq) return; // already shown (a resumed stream)
  state.lastSeq = ev.seq;
  state.rows.unshift(ev);
  if (state.rows.length > STREAM_ROWS) state.rows.length = STREAM_ROWS;
  renderStream(ev.seq);
  statsSoon();
}

function renderStream(freshSeq) {
  $("stream").replaceChildren(...state.rows.map((r) => {
    const e = r.event || {};
    const tr = el("tr", { className: (r.seq === freshSeq ? "fresh " : "") + (r.seq === state.selectedSeq ? "selected" : "") },
      el("td", { className: "mono" }, new Date(r.receivedAt).toLocaleTimeString()),
      el("td", { className: "type", title: e.eventType }, e.eventType),
      el("td", { className: "mono", title: e.itemId ?? "" }, e.itemId ?? ""),
      el("td", {}, e.eventValue ?? ""),
      el("td", { title: r.userId ?? "" }, r.userId ?? ""),
      el("td", { className: "mono", title: r.sessionId }, r.sessionId));
    tr.dataset.seq = r.seq;
    tr.onclick = () => { state.selectedSeq = r.seq; renderStream(); showDetail(r); };
    return tr;
  }));
}

// showDetail shows an event as the PutEvents request it arrived in.
function showDetail(r) {
  $("detail-hint").hidden = !!r;
  if (!r) { $("detail").textContent = ""; return; }
  const wire = { trackingId: r.trackingId, sessionId: r.sessionId };
  if (r.userId) wire.userId = r.userId;
  wire.eventList = [r.event];
  $("detail").textContent = "// received " + new Date(r.receivedAt).toISOString() + ", seq " + r.seq + "\n" +
    JSON.stringify(wire, null, 2);
}

// ---- wiring ----

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").onsubmit = (e) => { e.preventDefault(); guard(signIn($("token").value.trim())); };
  $("logout").onclick = () => { sessionStorage.removeItem(TOKEN_KEY); showLogin(""); };
  $("tracker").onchange = () => selectTracker($("tracker").value);
  $("filters").onsubmit = (e) => { e.preventDefault(); selectTracker(state.tracker); };
  $("f-clear").onclick = () => { $("filters").reset(); selectTracker(state.tracker); };
  $("create").onsubmit = (e) => guard(createTracker(e));
  $("copy").onclick = copySnippet;
  if (token()) guard(signIn(token()));
  else showLogin("");
});
