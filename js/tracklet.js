/*
 * Tracklet loader. Install with
 *
 *   <script async src="https://COLLECTOR/tracklet.js" data-tracking-id="TID"></script>
 *
 * and, to keep calls made before this script has run, put this line before it:
 *
 *   <script>window.tracklet=window.tracklet||{q:[]};["init","track","identify","reset","flush","consent","optIn","optOut","on"].forEach(function(m){window.tracklet[m]=window.tracklet[m]||function(){window.tracklet.q.push([m,arguments])}})</script>
 *
 * The loader installs window.tracklet at once; every call made before the
 * WebAssembly module runs is queued and replayed in order. It loads
 * wasm_exec.js and tracklet.wasm from its own directory only after the
 * page's load event, when the browser is idle, so the page never waits for
 * the tracker. Without data-tracking-id it waits for tracklet.init({...}).
 */
(function () {
  "use strict";
  var w = window;
  var d = document;
  // What the loader costs the page before its load event: this synchronous
  // part is all of it (the module starts later). `make bench` reads it.
  var startedAt = w.performance && performance.now();

  var t = w.tracklet = w.tracklet || {};
  if (t.ready) return; // the script is on the page twice: the first one wins

  var script = d.currentScript || findScript();
  if (!script) {
    console.error("tracklet: cannot find my own <script> tag");
    return;
  }
  var base = new URL(".", script.src).href; // the directory of tracklet.js

  // Settings from data- attributes (data-batch-size → batchSize); init()
  // may add to them before the module starts.
  var config = { endpoint: new URL(script.src).origin };
  Object.keys(script.dataset).forEach(function (k) { config[k] = script.dataset[k]; });
  var started = false;
  var gotInit; // resolves when the configuration is complete
  var configured = new Promise(function (resolve) { gotInit = resolve; });

  // Calls waiting for the module: {method, args, resolve, reject}. resolve
  // is missing for calls queued by the snippet, which returned nothing.
  var pending = [];
  var snippetCalls = t.q || [];
  t.q = [];

  // Before the module runs, calls are queued; track and flush return a
  // Promise that settles when the call really happens.
  function later(method, returnsPromise) {
    return function () {
      var call = { method: method, args: Array.prototype.slice.call(arguments) };
      pending.push(call);
      if (method === "on") {
        return function off() {
          if (typeof call.off === "function") call.off(); // replayed: undo the real one
          else call.method = "noop"; // not replayed yet: never do it
        };
      }
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
  ["identify", "reset", "consent", "optIn", "optOut", "on"].forEach(function (m) { t[m] = later(m, false); });
  t.track = later("track", true);
  t.flush = later("flush", true);
  t.buildEvent = t.validate = t.sessionId = t.consentState = notReady;
  t.stats = function () {
    var queued = pending.filter(function (c) { return c.method === "track"; }).length;
    return { queued: queued, sent: 0, failed: 0, dropped: 0, retries: 0, stored: 0, storedBytes: 0, storageErrors: 0 };
  };
  t.init = function (options) {
    if (started) {
      console.warn("tracklet.init: called after the tracker started; ignored");
      return;
    }
    Object.keys(options || {}).forEach(function (k) { config[k] = options[k]; });
    gotInit();
  };

  snippetCalls.forEach(function (call) {
    var args = Array.prototype.slice.call(call[1] || []);
    if (call[0] === "init") t.init(args[0]);
    else pending.push({ method: call[0], args: args });
  });
  if (config.trackingId) gotInit();

  t.ready = configured.then(start).then(function (api) {
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
      .then(function () {
        started = true;
        // Go's runtime glue and the module download (and the module
        // compiles) side by side: neither needs the other until instantiate.
        return Promise.all([w.Go ? null : loadScript(base + "wasm_exec.js"), compile(base + "tracklet.wasm")]);
      })
      .then(function (loaded) {
        var go = new w.Go();
        return WebAssembly.instantiate(loaded[1], go.importObject).then(function (instance) {
          go.run(instance); // runs main until it waits for calls
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
    Object.keys(api).forEach(function (m) {
      if (m === "trackMany") return; // the module's, for batchTracks
      t[m] = function () { return check(api[m].apply(null, arguments)); };
    });
    if (api.trackMany) batchTracks(api);
  }

  // batchTracks makes track() cheap for the page: calling from JavaScript
  // into the Go module costs more than tracking an event, so track() only
  // notes the call and its time (the event's sentAt) and returns; the
  // module takes the calls in batches, in tasks of their own. Calls that
  // must see the tracked events first (identify, flush, stats, ...) and a
  // page being hidden hand the batch over at once.
  function batchTracks(api) {
    var calls = [];
    var scheduled = false;
    var channel = w.MessageChannel ? new MessageChannel() : null;
    function drain() {
      scheduled = false;
      // 50 calls at a time, so that the page's own tasks go in between.
      hand(api, calls.splice(0, 50));
      if (calls.length) schedule();
    }
    function schedule() {
      if (scheduled) return;
      scheduled = true;
      if (channel) channel.port2.postMessage(0);
      else setTimeout(drain, 0);
    }
    if (channel) channel.port1.onmessage = function () { if (scheduled) drain(); };
    function drainAll() {
      scheduled = false;
      if (calls.length) hand(api, calls.splice(0, calls.length));
    }
    t.track = function (eventType, properties, options) {
      var call = { a: [eventType, copy(properties), copy(options)], t: Date.now() };
      var p = new Promise(function (resolve, reject) { call.res = resolve; call.rej = reject; });
      calls.push(call);
      schedule();
      return p;
    };
    ["flush", "stats", "identify", "reset", "consent", "optIn", "optOut", "sessionId", "consentState"].forEach(function (m) {
      var f = t[m];
      if (f) t[m] = function () { drainAll(); return f.apply(null, arguments); };
    });
    // Capturing listeners on window run before the module's own.
    w.addEventListener("pagehide", drainAll, true);
    w.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") drainAll(); }, true);
  }

  // hand gives the module a batch of track calls, in order. Runs of plain
  // calls (see plain) go as one JSON string and their outcomes come back
  // as one: reading each argument across the JS/Go boundary costs more than
  // tracking the event. Other calls, and every call for a module without
  // trackJSON, go as JS values through trackMany.
  function hand(api, batch) {
    for (var i = 0; i < batch.length;) {
      var isPlain = !!api.trackJSON && plain(batch[i]);
      var j = i + 1;
      while (j < batch.length && (!!api.trackJSON && plain(batch[j])) === isPlain) j++;
      var run = batch.slice(i, j);
      if (!isPlain || !handJSON(api, run)) api.trackMany(run);
      i = j;
    }
  }

  // handJSON settles each call of run from trackJSON's outcomes: an
  // eventId, null (no consent) or {error}. False when the module refused
  // the batch and tracked none of it.
  function handJSON(api, run) {
    var out = api.trackJSON(JSON.stringify(run.map(function (c) { return [c.a[0], c.a[1], c.a[2], c.t]; })));
    if (typeof out !== "string") return false;
    JSON.parse(out).forEach(function (r, k) {
      if (r === null || typeof r === "string") run[k].res(r);
      else run[k].rej(new Error(r.error));
    });
    return true;
  }

  // plain reports whether a call's arguments come through JSON unchanged:
  // what JSON would drop, round or turn into something else (undefined
  // members, -0, NaN, Dates, nested objects, unknown options) is left to
  // trackMany, which judges the JS values themselves.
  function plain(call) {
    var a = call.a;
    return (typeof a[0] === "string" || a[0] == null) && plainObject(a[1], plainProperty) && plainObject(a[2], plainOption);
  }
  function plainObject(v, ok) {
    if (v == null) return true;
    if (typeof v !== "object" || Object.getPrototypeOf(v) !== Object.prototype) return false;
    return Object.keys(v).every(function (k) { return ok(k, v[k]); });
  }
  function plainScalar(v) {
    return typeof v === "string" || typeof v === "boolean" ||
      (typeof v === "number" && isFinite(v) && !(v === 0 && 1 / v < 0));
  }
  function plainProperty(k, v) { return plainScalar(v); }
  function plainOption(k, v) {
    if (!Object.prototype.hasOwnProperty.call(plainOptions, k)) return false;
    if (v == null) return true;
    switch (plainOptions[k]) {
      case "string": return typeof v === "string";
      case "number": return typeof v === "number" && plainScalar(v);
      case "strings": return Array.isArray(v) && v.every(function (x) { return typeof x === "string"; });
    }
    return false;
  }
  var plainOptions = {
    eventId: "string", itemId: "string", recommendationId: "string", metricAttribution: "string",
    eventValue: "number", sentAt: "number", impression: "strings"
  };

  // copy takes a plain object or array as it is at the call, so that the
  // page may change it afterwards; anything else is the module's to judge.
  function copy(v) {
    if (Array.isArray(v)) return v.slice();
    if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
      var out = {};
      Object.keys(v).forEach(function (k) { out[k] = Array.isArray(v[k]) ? v[k].slice() : v[k]; });
      return out;
    }
    return v;
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
      if (call.method === "noop") return; // an on() undone before ready
      var result;
      try {
        result = t[call.method].apply(null, call.args);
        if (call.method === "on") call.off = result;
        result = Promise.resolve(result);
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

  // afterLoad waits for the load event and then for an idle moment, so the
  // tracker's download and compile never compete with the page's own.
  function afterLoad() {
    return new Promise(function (resolve) {
      function idle() {
        if (w.requestIdleCallback) w.requestIdleCallback(function () { resolve(); }, { timeout: 2000 });
        else setTimeout(resolve, 0);
      }
      if (d.readyState === "complete") idle();
      else w.addEventListener("load", idle, { once: true });
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

  // compile compiles the module while it streams in when the server labels
  // it application/wasm (required for streaming) and reads it whole
  // otherwise.
  function compile(url) {
    return fetch(url, { credentials: "omit" }).then(function (resp) {
      if (!resp.ok) throw new Error("tracklet: " + url + " answered " + resp.status);
      var type = resp.headers.get("Content-Type") || "";
      if (WebAssembly.compileStreaming && type.indexOf("application/wasm") === 0) {
        return WebAssembly.compileStreaming(resp);
      }
      return resp.arrayBuffer().then(function (bytes) { return WebAssembly.compile(bytes); });
    });
  }

  try { performance.measure("tracklet:loader", { start: startedAt }); } catch (e) { /* old browser */ }

  // findScript finds this script's tag when currentScript is not set.
  function findScript() {
    var tags = d.querySelectorAll("script[data-tracking-id], script[src*='tracklet.js']");
    return tags[tags.length - 1] || null;
  }
})();
