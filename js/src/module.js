// The ES module's createTracker, for both of its builds: tracklet.mjs as
// the collector serves it, which finds its files next to itself, and the
// npm package's (npm.mjs), which a bundler copies into a site's app. The
// calls go through calls.js as the loader's do; the module runs on the
// page, with no journal and no Worker of its own.

import { w, now, listen } from "./natives.js";
import { batchTracks, hand, copy, check, internal, builder } from "./calls.js";
import { compile, startGo, create } from "./wasm.js";

// trackerFactory returns createTracker. locate(config) says where the
// files are: {wasm, sender, endpoint (the default one), glue}; loadGlue()
// makes sure wasm_exec.js has defined globalThis.Go.
export function trackerFactory(locate, loadGlue) {
  let factory; // one Go program serves every tracker of the page

  async function loadFactory(files) {
    if (!globalThis.Go) await loadGlue(files.glue);
    const mod = await new Promise((resolve, reject) => compile(files.wasm, resolve, reject));
    const go = new globalThis.Go();
    const instance = await WebAssembly.instantiate(mod, go.importObject);
    return startGo(go, instance); // returns once main waits for calls
  }

  /**
   * Creates a tracker. Rejects with an Error naming the bad setting.
   * @param {import("../tracklet").TrackerConfig} config
   * @returns {Promise<import("../tracklet").Tracker>}
   */
  return async function createTracker(config = {}) {
    const files = locate(config);
    factory ??= loadFactory(files);
    let f;
    try {
      f = await factory;
    } catch (err) {
      factory = undefined; // let a later call try again
      throw err;
    }
    const api = create(f, { endpoint: files.endpoint, senderUrl: files.sender, ...config });
    return wrap(api);
  };
}

// wrap is the tracker as the page sees it: the module's functions, which
// throw what the module returns as an Error, with track() cheap for the
// page (batchTracks): the call is noted with its time (the event's
// sentAt) and handed to the module later, in a task of its own. Every
// other method, and a page being hidden, hands the batch over first.
function wrap(api) {
  const tracks = batchTracks((batch) => hand(api, batch));
  const tracker = {};
  for (const name of Object.keys(api)) {
    if (internal(name)) continue;
    const f = name === "buildEvent" ? builder(api[name]) : api[name];
    tracker[name] = (...args) => {
      tracks.drainAll();
      return check(f(...args));
    };
  }
  tracker.track = (eventType, properties, options) =>
    tracks.track({ type: eventType, props: copy(properties), opts: copy(options), t: now(), plain: null });
  if (w.document) {
    // Capturing listeners on window run before the module's own.
    listen(w, "pagehide", tracks.drainAll, true);
    listen(w, "visibilitychange", () => { if (w.document.visibilityState === "hidden") tracks.drainAll(); }, true);
  }
  return tracker;
}
