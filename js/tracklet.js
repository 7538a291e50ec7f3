/*
 * Tracklet loader. Install with
 *
 *   <script async src="https://COLLECTOR/tracklet.js" data-tracking-id="TID"></script>
 *
 * and, to keep calls made before this script has run, put this line before it:
 *
 *   <script>window.tracklet=window.tracklet||{q:[]};["track","identify","reset","flush"].forEach(function(m){window.tracklet[m]=window.tracklet[m]||function(){window.tracklet.q.push([m,arguments])}})</script>
 *
 * The loader installs window.tracklet at once; every call made before the
 * WebAssembly module runs is queued and replayed in order. It then loads
 * wasm_exec.js and tracklet.wasm from its own directory after the page's
 * load event, so the page never waits for the tracker.
 */
(function () {
  "use strict";
  var w = window;
  var d = document;

  var t = w.tracklet = w.tracklet || {};
  if (t.ready) return; // the script is on the page twice: the first one wins

  var script = d.currentScript || findScript();
  if (!script) {
    console.error("tracklet: cannot find my own <script> tag");
    return;
  }
  var base = new URL(".", script.src).href; // the directory of tracklet.js
  var data = script.dataset;
  var config = {
    trackingId: data.trackingId,
    endpoint: data.endpoint || new URL(script.src).origin,
    batchSize: data.batchSize,
    flushInterval: data.flushInterval,
    maxQueue: data.maxQueue
  };

  // Calls waiting for the module: {method, args, resolve, reject}. resolve
  // is missing for calls queued by the snippet, which returned nothing.
  var pending = [];
  (t.q || []).forEach(function (call) {
    pending.push({ method: call[0], args: Array.prototype.slice.call(call[1] || []) });
  });
  t.q = [];

  // Before the module runs, calls are queued; track and flush return a
  // Promise that settles when the call really happens.
  function later(method, returnsPromise) {
    return function () {
      var call = { method: method, args: Array.prototype.slice.call(arguments) };
      pending.push(call);
      if (!returnsPromise) return undefined;
      return new Promise(function (resolve, reject) {
        call.resolve = resolve;
        call.reject = reject;
      });
    };
  }
  function notReady() {
    throw new Error("tracklet: not ready yet; call this after `await tracklet.ready`");
  }
  t.track = later("track", true);
  t.flush = later("flush", true);
  t.identify = later("identify", false);
  t.reset = later("reset", false);
  t.buildEvent = notReady;
  t.validate = notReady;
  t.stats = function () {
    var queued = pending.filter(function (c) { return c.method === "track"; }).length;
    return { queued: queued, sent: 0, failed: 0, dropped: 0 };
  };

  t.ready = start().then(function (api) {
    bind(api);
    replay();
    return t;
  }, function (err) {
    console.error(err.message);
    pending.forEach(function (call) { if (call.reject) call.reject(err); });
    pending = [];
    throw err;
  });
  t.ready.catch(function () {}); // reported above; a page that awaits it still sees it

  // start loads the module once the page has loaded and returns its api.
  function start() {
    return afterLoad()
      .then(function () { return w.Go ? null : loadScript(base + "wasm_exec.js"); })
      .then(function () {
        var go = new w.Go();
        return instantiate(base + "tracklet.wasm", go.importObject).then(function (result) {
          go.run(result.instance); // runs main until it waits for calls
          var factory = w.__trackletWasm;
          if (!factory) throw new Error("tracklet: tracklet.wasm did not start");
          var api = factory.create(config);
          if (api instanceof Error) throw new Error("tracklet: " + api.message);
          return api;
        });
      });
  }

  // bind replaces the queueing functions with the module's own.
  function bind(api) {
    t.track = function () { return api.track.apply(null, arguments); };
    t.flush = function () { return api.flush(); };
    t.identify = function (userId) { check(api.identify(userId)); };
    t.reset = function () { api.reset(); };
    t.buildEvent = function () { return check(api.buildEvent.apply(null, arguments)); };
    t.validate = function (event) { return api.validate(event); };
    t.stats = function () { return api.stats(); };
    t.sessionId = function () { return api.sessionId(); };
  }

  // The module cannot throw; it returns an Error instead.
  function check(v) {
    if (v instanceof Error) throw v;
    return v;
  }

  // replay makes the queued calls, in the order they were made.
  function replay() {
    var calls = pending;
    pending = [];
    calls.forEach(function (call) {
      var result;
      try {
        result = Promise.resolve(t[call.method].apply(null, call.args));
      } catch (err) {
        result = Promise.reject(err);
      }
      if (call.resolve) {
        result.then(call.resolve, call.reject);
      } else {
        // Nobody holds a promise for a snippet call: say what went wrong.
        result.catch(function (err) { console.warn("tracklet." + call.method + ": " + err.message); });
      }
    });
  }

  function afterLoad() {
    return new Promise(function (resolve) {
      if (d.readyState === "complete") resolve();
      else w.addEventListener("load", function () { resolve(); }, { once: true });
    });
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = d.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error("tracklet: cannot load " + src)); };
      (d.head || d.documentElement).appendChild(s);
    });
  }

  // instantiate streams the module when the server labels it
  // application/wasm (required for streaming) and reads it whole otherwise.
  function instantiate(url, imports) {
    return fetch(url, { credentials: "omit" }).then(function (resp) {
      if (!resp.ok) throw new Error("tracklet: " + url + " answered " + resp.status);
      var type = resp.headers.get("Content-Type") || "";
      if (WebAssembly.instantiateStreaming && type.indexOf("application/wasm") === 0) {
        return WebAssembly.instantiateStreaming(resp, imports);
      }
      return resp.arrayBuffer().then(function (bytes) { return WebAssembly.instantiate(bytes, imports); });
    });
  }

  // findScript finds this script's tag when currentScript is not set.
  function findScript() {
    var tags = d.querySelectorAll("script[data-tracking-id], script[src*='tracklet.js']");
    return tags[tags.length - 1] || null;
  }
})();
