// Fetching, compiling and starting tracklet.wasm: the loader on the page,
// the loader in the module's Worker and the ES module all start Go here.

import { w, apply, nativeFetch, promiseThen, ownForEach, then, Err } from "./natives.js";

// compile compiles the module while it streams in when the server labels
// it application/wasm (required for streaming) and reads it whole
// otherwise. It is fetched at low priority: it never competes with the
// page's own downloads.
export function compile(url, done, fail) {
  function failed(err) {
    fail(new Err("tracklet: cannot load " + url + ": " + (err && err.message || err)));
  }
  var p;
  try {
    p = apply(nativeFetch, w, [url, { credentials: "omit", priority: "low" }]);
  } catch (err) {
    return failed(err);
  }
  then(p, function (resp) {
    if (!resp.ok) return fail(new Err("tracklet: " + url + " answered " + resp.status));
    var type = resp.headers.get("Content-Type") || "";
    if (WebAssembly.compileStreaming && type.indexOf("application/wasm") === 0) {
      then(WebAssembly.compileStreaming(resp), done, failed);
      return;
    }
    then(resp.arrayBuffer(), function (bytes) { then(WebAssembly.compile(bytes), done, failed); }, failed);
  }, failed);
}

// run starts Go's main, which installs the factory and waits for calls,
// and creates the tracker.
export function run(go, instance, cfg) {
  return create(startGo(go, instance), cfg);
}

// startGo runs Go's main until it waits for calls and returns the factory
// it installed. wasm_exec.js uses Array.prototype.forEach: Tracklet's own
// one is put back while it runs.
export function startGo(go, instance) {
  var proto = Array.prototype, pageForEach = proto.forEach;
  proto.forEach = ownForEach;
  try {
    go.run(instance);
  } finally {
    proto.forEach = pageForEach;
  }
  var factory = w.__trackletWasm;
  if (!factory) throw new Err("tracklet: tracklet.wasm did not start");
  return factory;
}

// create makes a tracker of the factory; it throws an Error naming the
// bad setting.
export function create(factory, cfg) {
  cfg.natives = { fetch: nativeFetch, then: promiseThen }; // the page may replace them
  var a = factory.create(cfg);
  if (a instanceof Err) throw new Err("tracklet: " + a.message);
  return a;
}
