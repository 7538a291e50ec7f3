// Tracklet as an ES module, for bundlers and <script type="module">:
//
//   import { createTracker } from "https://COLLECTOR/tracklet.mjs";
//   const tracker = await createTracker({ trackingId: "TID" });
//   await tracker.track("MovieRating", { itemId: "movie2", eventValue: "4.5" });
//
// wasm_exec.js and tracklet.wasm are loaded from this module's directory
// (override with options.baseUrl); the endpoint defaults to its origin.
// The methods are those of window.tracklet from tracklet.js.

let factory; // one Go program serves every tracker of the page

async function loadFactory(base) {
  if (!globalThis.Go) {
    // wasm_exec.js is a classic script that defines globalThis.Go; as a
    // module it does the same.
    await import(new URL("wasm_exec.js", base).href);
  }
  const go = new globalThis.Go();
  const resp = await fetch(new URL("tracklet.wasm", base), { credentials: "omit" });
  if (!resp.ok) throw new Error(`tracklet: ${resp.url} answered ${resp.status}`);
  const { instance } = (resp.headers.get("Content-Type") || "").startsWith("application/wasm")
    ? await WebAssembly.instantiateStreaming(resp, go.importObject)
    : await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject);
  go.run(instance); // returns once main waits for calls
  if (!globalThis.__trackletWasm) throw new Error("tracklet: tracklet.wasm did not start");
  return globalThis.__trackletWasm;
}

/**
 * Creates a tracker. Rejects with an Error naming the bad setting.
 * @param {import("./tracklet").TrackerConfig} config
 * @returns {Promise<import("./tracklet").Tracker>}
 */
export async function createTracker(config = {}) {
  const base = new URL(config.baseUrl || ".", import.meta.url);
  factory ??= loadFactory(base);
  let f;
  try {
    f = await factory;
  } catch (err) {
    factory = undefined; // let a later call try again
    throw err;
  }
  const api = f.create({
    endpoint: new URL(import.meta.url).origin,
    senderUrl: new URL("tracklet-sender.js", base).href, // the sending Worker's script
    ...config,
  });
  if (api instanceof Error) throw new Error("tracklet: " + api.message);
  // The module cannot throw; it returns an Error instead.
  const tracker = {};
  for (const name of Object.keys(api)) {
    tracker[name] = (...args) => {
      const v = api[name](...args);
      if (v instanceof Error) throw v;
      return v;
    };
  }
  // buildEvent takes its call as track's calls are handed over.
  const build = tracker.buildEvent;
  tracker.buildEvent = (eventType, properties, options) => build(encodeCalls([[eventType, properties, options, null]]));
  batchTracks(tracker, api);
  return tracker;
}

// batchTracks makes track() cheap for the page, as in tracklet.js: calling
// into the Go module costs more than tracking an event, so track() notes
// the call and its time (the event's sentAt) and the module takes the calls
// in batches, in tasks of their own. Methods that must see the tracked
// events first, and a page being hidden, hand the batch over at once.
function batchTracks(tracker, api) {
  let calls = [];
  let scheduled = false;
  const channel = globalThis.MessageChannel ? new MessageChannel() : null;
  const drain = () => {
    scheduled = false;
    hand(api, calls.splice(0, 50)); // the page's own tasks go in between
    if (calls.length) schedule();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    if (channel) channel.port2.postMessage(0);
    else setTimeout(drain, 0);
  };
  if (channel) channel.port1.onmessage = () => { if (scheduled) drain(); };
  const drainAll = () => {
    scheduled = false;
    if (calls.length) hand(api, calls.splice(0, calls.length));
  };
  tracker.track = (eventType, properties, options) => {
    const call = { a: [eventType, copy(properties), copy(options), Date.now()] };
    const p = new Promise((resolve, reject) => { call.res = resolve; call.rej = reject; });
    calls.push(call);
    schedule();
    return p;
  };
  for (const m of ["flush", "stats", "identify", "reset", "consent", "optIn", "optOut", "sessionId", "consentState"]) {
    const f = tracker[m];
    if (f) tracker[m] = (...args) => { drainAll(); return f(...args); };
  }
  if (globalThis.addEventListener) {
    // Capturing listeners on window run before the module's own.
    addEventListener("pagehide", drainAll, true);
    addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") drainAll(); }, true);
  }
}

// hand gives the module a batch of track calls, in order, as one JSON
// string, and settles each call from the outcomes, as in tracklet.js.
function hand(api, batch) {
  const out = api.track(encodeCalls(batch.map((c) => c.a.slice())));
  const rs = typeof out === "string" ? JSON.parse(out) : null;
  batch.forEach((c, k) => {
    const r = rs ? rs[k] : { error: out?.message ?? String(out) };
    if (r === null || typeof r === "string") c.res(r);
    else c.rej(new Error(r.error));
  });
}

// encodeCalls writes track calls, [eventType, properties, options, t], as
// the JSON string the module's track and buildEvent take, describing what
// JSON would not carry as it is; see tracklet.js and wasm/tracker/call.go.
const kindKey = "\u0000";
function encodeCalls(list) {
  return JSON.stringify(list.map((l) =>
    l.slice(0, 3).every((v) => faithful(v, 0)) ? l : [describe(l[0], 0), describe(l[1], 0), describe(l[2], 0), l[3]]));
}
function faithful(v, depth) {
  switch (typeof v) {
    case "string": case "boolean": return true;
    case "number": return Number.isFinite(v) && !Object.is(v, -0);
    case "object":
      if (v === null) return true;
      if (depth >= 2) return false;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!faithful(v[i], depth + 1)) return false;
        return true;
      }
      return Object.getPrototypeOf(v) === Object.prototype && !Object.hasOwn(v, kindKey) &&
        Object.keys(v).every((k) => faithful(v[k], depth + 1));
  }
  return false; // undefined, function, symbol, bigint
}
function describe(v, depth) {
  if (faithful(v, 2)) return v; // a scalar JSON carries, or null
  switch (typeof v) {
    case "number":
      return { [kindKey]: "number", v: Number.isNaN(v) ? "NaN" : v === 0 ? "-0" : v > 0 ? "Infinity" : "-Infinity" };
    case "object": {
      if (depth >= 2) return { [kindKey]: "object" };
      if (v instanceof Date) return { [kindKey]: "date", ms: describe(v.getTime(), depth + 1) };
      if (Array.isArray(v)) return Array.from({ length: v.length }, (_, i) => describe(v[i], depth + 1));
      const own = {};
      for (const k of Object.keys(v)) own[k] = describe(v[k], depth + 1);
      return Object.getPrototypeOf(v) === Object.prototype && !Object.hasOwn(v, kindKey) ? own : { [kindKey]: "object", own };
    }
  }
  return { [kindKey]: typeof v };
}

// copy takes a plain object or array as it is at the call, so that the
// page may change it afterwards; anything else is the module's to judge.
function copy(v) {
  if (Array.isArray(v)) return v.slice();
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const out = {};
    for (const k of Object.keys(v)) out[k] = Array.isArray(v[k]) ? v[k].slice() : v[k];
    return out;
  }
  return v;
}

export default createTracker;
