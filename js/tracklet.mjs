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
    if (name === "trackMany") continue;
    tracker[name] = (...args) => {
      const v = api[name](...args);
      if (v instanceof Error) throw v;
      return v;
    };
  }
  if (api.trackMany) batchTracks(tracker, api);
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
    const call = { a: [eventType, copy(properties), copy(options)], t: Date.now() };
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

// hand gives the module a batch of track calls, in order, as in
// tracklet.js: runs of plain calls as one JSON string (trackJSON), the
// others as JS values (trackMany).
function hand(api, batch) {
  for (let i = 0; i < batch.length;) {
    const isPlain = !!api.trackJSON && plain(batch[i]);
    let j = i + 1;
    while (j < batch.length && (!!api.trackJSON && plain(batch[j])) === isPlain) j++;
    const run = batch.slice(i, j);
    if (!isPlain || !handJSON(api, run)) api.trackMany(run);
    i = j;
  }
}

// handJSON settles each call of run from trackJSON's outcomes; false when
// the module refused the batch and tracked none of it.
function handJSON(api, run) {
  const out = api.trackJSON(JSON.stringify(run.map((c) => [c.a[0], c.a[1], c.a[2], c.t])));
  if (typeof out !== "string") return false;
  JSON.parse(out).forEach((r, k) => {
    if (r === null || typeof r === "string") run[k].res(r);
    else run[k].rej(new Error(r.error));
  });
  return true;
}

// plain reports whether a call's arguments come through JSON unchanged;
// see tracklet.js.
function plain(call) {
  const [eventType, properties, options] = call.a;
  return (typeof eventType === "string" || eventType == null) &&
    plainObject(properties, (k, v) => plainScalar(v)) && plainObject(options, plainOption);
}
function plainObject(v, ok) {
  if (v == null) return true;
  if (typeof v !== "object" || Object.getPrototypeOf(v) !== Object.prototype) return false;
  return Object.keys(v).every((k) => ok(k, v[k]));
}
function plainScalar(v) {
  return typeof v === "string" || typeof v === "boolean" ||
    (typeof v === "number" && Number.isFinite(v) && !Object.is(v, -0));
}
const plainOptions = {
  eventId: "string", itemId: "string", recommendationId: "string", metricAttribution: "string",
  eventValue: "number", sentAt: "number", impression: "strings",
};
function plainOption(k, v) {
  if (!Object.prototype.hasOwnProperty.call(plainOptions, k)) return false;
  if (v == null) return true;
  switch (plainOptions[k]) {
    case "string": return typeof v === "string";
    case "number": return typeof v === "number" && plainScalar(v);
    case "strings": return Array.isArray(v) && v.every((x) => typeof x === "string");
  }
  return false;
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
