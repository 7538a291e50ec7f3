// Tracklet as an ES module, for <script type="module"> and bundlers that
// import it from the collector:
//
//   import { createTracker } from "https://COLLECTOR/tracklet.mjs";
//   const tracker = await createTracker({ trackingId: "TID" });
//   await tracker.track("MovieRating", { itemId: "movie2", eventValue: "4.5" });
//
// wasm_exec.js, tracklet.wasm and tracklet-sender.js are loaded from this
// module's directory (override with options.baseUrl); the endpoint
// defaults to its origin. The methods are those of window.tracklet from
// tracklet.js. (The npm package's build of it is npm.mjs.)

import { trackerFactory } from "./module.js";

export const createTracker = trackerFactory((config) => {
  const base = new URL(config.baseUrl || ".", import.meta.url);
  return {
    wasm: new URL("tracklet.wasm", base).href,
    sender: new URL("tracklet-sender.js", base).href, // the sending Worker's script
    glue: new URL("wasm_exec.js", base).href,
    endpoint: new URL(import.meta.url).origin,
  };
  // wasm_exec.js is a classic script that defines globalThis.Go; as a
  // module it does the same.
}, (glue) => import(glue));

export default createTracker;
