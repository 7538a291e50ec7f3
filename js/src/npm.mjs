// Tracklet as the npm package "tracklet" builds it (bin/npm/tracklet.mjs),
// for a site's own bundle:
//
//   import { createTracker } from "tracklet";
//   import wasmUrl from "tracklet/tracklet.wasm"; // esbuild: --loader:.wasm=file
//   const tracker = await createTracker({ trackingId: "TID", endpoint: "https://COLLECTOR", wasmUrl });
//
// A bundler that copies the file its code names can only copy
// tracklet.wasm, 8 MB, which it must not inline: options.wasmUrl names
// where it went. Without it the module looks next to itself, as
// `new URL("./tracklet.wasm", import.meta.url)`, which webpack 5 and Vite
// copy by themselves. Go's wasm_exec.js and the sending Worker's script
// are in this file: a bundle has nowhere to fetch them from. There is no
// default endpoint: the page's origin is seldom the collector.

import "tracklet:glue"; // Go's wasm_exec.js: defines globalThis.Go
import senderSource from "tracklet:sender"; // tracklet-sender.js, as text
import { trackerFactory } from "./module.js";

let senderUrl; // one blob: URL for every tracker of the page

export const createTracker = trackerFactory((config) => {
  senderUrl ??= URL.createObjectURL(new Blob([senderSource], { type: "text/javascript" }));
  return {
    wasm: config.wasmUrl ? String(config.wasmUrl) : new URL("./tracklet.wasm", import.meta.url).href,
    sender: senderUrl,
  };
}, () => Promise.reject(new Error("tracklet: wasm_exec.js is not bundled in")));

export default createTracker;
