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
  const api = f.create({ endpoint: new URL(import.meta.url).origin, ...config });
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
  return tracker;
}

export default createTracker;
