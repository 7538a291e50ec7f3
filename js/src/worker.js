// The module in its Worker: the page (page.js) starts a dedicated Worker
// from tracklet.js's own URL, or from a one-line blob: bootstrap that
// imports it, and the same script runs this side there.

import { w, O, apply, keysOf, P, setT, Err, then, push, listen } from "./natives.js";
import { trackInWorker } from "./calls.js";
import { compile, run } from "./wasm.js";

// worker is the script-tag entry (tracklet.js) in the module's Worker,
// where there is no document: it runs the module and answers the page's
// messages (the protocol: "The module in its Worker" in page.js).
export function worker() {
  var api = null;
  var saved = O.create(null), names = null; // the module's localStorage
  var full = false; // the page's storage refuses writes: so does this one
  var out = { r: [], n: [], ops: [] }, scheduled = false;

  function post(kind) {
    scheduled = false;
    var m = { k: kind, r: out.r, n: out.n, ops: out.ops, st: api.stats(), s: api.sessionId() };
    out = { r: [], n: [], ops: [] };
    w.postMessage(m);
  }
  function later() {
    if (scheduled) return;
    scheduled = true;
    setT(function () { if (scheduled) post("state"); }, 0);
  }
  function op(k, v) {
    push(out.ops, [k, v]);
    later();
  }
  var storage = {
    getItem: function (k) { k = "" + k; return k in saved ? saved[k] : null; },
    setItem: function (k, v) {
      if (full) throw new DOMException("the page's storage is full", "QuotaExceededError");
      k = "" + k;
      if (!(k in saved)) names = null;
      saved[k] = "" + v;
      op(k, saved[k]);
    },
    removeItem: function (k) {
      k = "" + k;
      if (!(k in saved)) return;
      delete saved[k];
      names = null;
      op(k, null);
    },
    key: function (i) { return (names || (names = keysOf(saved)))[i] || null; }
  };
  O.defineProperty(storage, "length", { get: function () { return (names || (names = keysOf(saved))).length; } });

  function fail(err) {
    w.postMessage({ k: "fail", error: "tracklet: " + (err && err.message || err) });
  }
  function start(m) {
    if (m.config.storage) {
      var ks = keysOf(m.snapshot || {});
      for (var i = 0; i < ks.length; i++) saved[ks[i]] = m.snapshot[ks[i]];
      full = !m.snapshot;
      O.defineProperty(w, "localStorage", { value: storage, configurable: true });
    }
    try {
      importScripts(m.glue);
    } catch (err) {
      return fail(err);
    }
    compile(m.wasm, function (mod) {
      w.postMessage({ k: "module", module: mod });
      var go = new w.Go();
      then(WebAssembly.instantiate(mod, go.importObject), function (instance) {
        try {
          api = run(go, instance, m.config);
        } catch (err) {
          return fail(err);
        }
        var kinds = keysOf({ sent: 0, error: 0, dropped: 0 });
        for (var k = 0; k < kinds.length; k++) api.on(kinds[k], function (n) { push(out.n, n); later(); });
        post("ready");
      }, fail);
    }, fail);
  }
  function answer(seq, ok, v) { push(out.r, [seq, ok, v]); }
  function callOne(m) {
    var v = apply(api[m.m], null, m.a);
    if (v instanceof P) {
      then(v, function (res) { push(out.r, [m.seq, 1, res]); later(); },
        function (err) { push(out.r, [m.seq, 0, "" + (err && err.message || err)]); later(); });
      return;
    }
    push(out.r, v instanceof Err ? [m.seq, 0, v.message] : [m.seq, 1, null]);
  }
  listen(w, "message", function (e) {
    var m = e.data;
    if (m.k === "start") return start(m);
    if (m.k === "full") {
      full = true;
      return;
    }
    if (!api) return; // the page posts nothing else before ready
    if (m.k === "track") trackInWorker(api, m, answer);
    else if (m.k === "call") callOne(m);
    post("state"); // the answers with the writes that make them safe
  });
}
