import {
  w, startedAt, O, apply, keysOf, isArray, stringify, parseJSON, P, nativeFetch, now,
  setT, setI, microtask, Err, NativeWorker, then, push, call, listen, resolved
} from "./natives.js";
import { batchTracks, hand, isPlain, isPlainObject, copy, check, internal, builder, encodeCalls } from "./calls.js";
import { compile, run } from "./wasm.js";
import { eventJSON, requestJSON } from "./wire.js";
import { newID, privacySignal, flag } from "./ids.js";

// page is the loader on the page (the script-tag entry, tracklet.js, runs
// it where there is a document). It installs window.tracklet at once.
//
// This file is longer than the others on purpose, for now: the loader's
// state (configuration, journal, session, consent, the calls queued before
// ready, the Worker's answers) is one closure that the journal, the
// replay, the leaving path and the page's side of the Worker all read and
// write. Splitting them into files means passing that state as an object
// between them: a later step.
export function page() {
  var d = w.document;
  var t = w.tracklet = w.tracklet || {};
  if (t.ready) return; // the script is on the page twice: the first one wins

  var script = d.currentScript || findScript();
  if (!script) {
    console.error("tracklet: cannot find my own <script> tag");
    return;
  }
  var base = new URL(".", script.src).href; // the directory of tracklet.js
  // The files the loader fetches from there, each named once: the
  // collector serves them under content-hashed names, put here.
  var wasmURL = base + "tracklet.wasm", glueURL = base + "wasm_exec.js", senderURL = base + "tracklet-sender.js";

  // Settings from data- attributes (data-batch-size → batchSize); init()
  // may add to them before the module starts.
  var config = { endpoint: new URL(script.src).origin };
  var dataKeys = keysOf(script.dataset);
  for (var i = 0; i < dataKeys.length; i++) config[dataKeys[i]] = script.dataset[dataKeys[i]];
  var started = false;
  var begun = false; // the configuration is complete: the module is on its way

  // Calls waiting for the module, in order: {method, args, resolve,
  // reject, rec}; rec is a track call's journal record. resolve is missing
  // for calls queued by the snippet or claimed from the journal, which
  // nobody awaits.
  var pending = [];
  var failure = null; // why the module could not start, once it could not
  var api = null; // the module's functions, once it runs
  var snippetCalls = t.q || [];
  t.q = [];

  // ---- The journal ---------------------------------------------------
  //
  // Every track call is a record {c: [eventType, properties, options], t:
  // sentAt ms, s: sessionId, u: userId} in localStorage, under
  //
  //   tracklet:<trackingId>:j:<tab>:<n>   a JSON array of the records of
  //                                        one task of this page
  //
  // written at the end of the task that made the calls (before any event
  // that ends the page can run) and removed once the module has taken all
  // of them into its own store, or the collector has acknowledged them.
  // <tab> names this page; its lease (t:<tab>, which the module renews
  // once it runs) tells other pages of the site that the records are
  // taken. A page whose lease is gone (released on pagehide, or expired)
  // leaves its records to the next page of the site, which replays them
  // with the eventId and sentAt they were given at the call.
  //
  // Storage that throws (disabled, full) leaves the records in memory
  // only; nothing is thrown into the page. Calls made while consent is
  // pending or denied are not journaled, as the module saves nothing then.
  var store = null;
  var prefix = "";
  var tab = newID();
  var journal = { events: 0, bytes: 0, errors: 0, seq: 0 };
  var unwritten = []; // records of this task, not yet written
  var writeScheduled = false;
  // Bounds of the journal: the module's queue and store defaults.
  var maxJournalEvents = 1000;
  var maxJournalBytes = 256 << 10;
  // The module's lease: renewed every heartbeatMs, expired after leaseMs.
  var heartbeatMs = 30000, leaseMs = 180000;
  // sessionTimeoutMs is the module's default session timeout.
  var sessionTimeoutMs = 30 * 60 * 1000;
  // keepaliveBudget keeps keepalive bodies under the 64 KB that browsers
  // allow in flight for all of a page's keepalive requests together: the
  // module's tracker.KeepaliveBudget.
  var keepaliveBudget = 60 << 10;
  var inflightBytes = 0;

  var consentState = "granted";
  var initialConsent = "granted"; // before any call: the module's start, the calls replayed after it
  var session = { id: "", user: "" };

  // openStorage returns localStorage, or null where reading it throws
  // (blocked storage, private modes) or it does not work.
  function openStorage() {
    try {
      var ls = w.localStorage;
      return ls && typeof ls.setItem === "function" ? ls : null;
    } catch (e) {
      return null;
    }
  }
  function storageDo(f) {
    if (!store) return false;
    try {
      f();
      return true;
    } catch (e) {
      journal.errors++;
      return false;
    }
  }

  // setUp reads what the configuration decides: the storage, the consent
  // state (opt-out, Global Privacy Control, data-consent) and the session.
  function setUp() {
    if (store || prefix) return;
    prefix = "tracklet:" + config.trackingId + ":";
    if (flag(config.storage, true)) store = openStorage();
    consentState = config.consent === "pending" || config.consent === "denied" ? config.consent : "granted";
    var optedOut = false;
    storageDo(function () { optedOut = store.getItem(prefix + "optout") !== null; });
    if (optedOut || (flag(config.respectGpc, false) && privacySignal())) consentState = "denied";
    initialConsent = consentState;
    session.user = typeof config.userId === "string" ? config.userId : "";
    session.id = typeof config.sessionId === "string" && config.sessionId ? config.sessionId : savedSession();
    if (!config.sessionId) config.sessionId = session.id; // the module continues it
    heartbeat();
    setI(heartbeat, heartbeatMs);
  }

  // savedSession continues the site's session unless it has been idle for
  // longer than the session timeout, and starts one otherwise.
  function savedSession() {
    var saved = null;
    storageDo(function () { saved = parseJSON(store.getItem(prefix + "session") || "null"); });
    var timeout = +config.sessionTimeout || sessionTimeoutMs;
    if (saved && typeof saved.id === "string" && saved.id && now() - saved.last <= timeout) return saved.id;
    return saveSession(newID());
  }
  function saveSession(id) {
    storageDo(function () { store.setItem(prefix + "session", stringify({ id: id, last: now() })); });
    return id;
  }

  // heartbeat renews the lease until the module runs, which renews it
  // from then on.
  function heartbeat() {
    if (!api) takeLease();
  }
  function takeLease() {
    storageDo(function () { store.setItem(prefix + "t:" + tab, "" + now()); });
  }

  // claim takes the journal records of pages of this site that are gone
  // and queues them for the module, re-journaled as this page's. It runs
  // after the page's load event, before the module is fetched.
  function claim() {
    var names = [];
    storageDo(function () {
      for (var i = 0; i < store.length; i++) {
        var k = store.key(i);
        if (typeof k === "string" && k.slice(0, prefix.length) === prefix) push(names, k.slice(prefix.length));
      }
    });
    var alive = {};
    for (var i = 0; i < names.length; i++) {
      if (names[i].slice(0, 2) !== "t:") continue;
      var beat = 0;
      storageDo(function () { beat = +store.getItem(prefix + names[i]); });
      if (now() - beat <= leaseMs) alive[names[i].slice(2)] = true;
    }
    var claimed = [];
    for (var j = 0; j < names.length; j++) {
      var parts = names[j].split(":");
      if (parts[0] !== "j" || parts.length !== 3 || alive[parts[1]]) continue;
      var records = null;
      storageDo(function () { records = parseJSON(store.getItem(prefix + names[j])); });
      storageDo(function () { store.removeItem(prefix + names[j]); });
      if (!isArray(records)) continue;
      for (var k = 0; k < records.length; k++) {
        var r = records[k];
        if (r && isArray(r.c) && typeof r.t === "number") push(claimed, r);
      }
    }
    claimed.sort(function (a, b) { return a.t - b.t; });
    for (var m = 0; m < claimed.length && pendingTracks() < maxQueue(); m++) {
      var c = claimed[m];
      var rec = record(c.c[0], c.c[1], c.c[2], c.t, c.s, c.u);
      journalAdd(rec);
      push(pending, { method: "track", args: [rec.type, rec.props, rec.opts], rec: rec });
      tracksPending++;
    }
  }

  // record makes the journal record of a track call: its arguments as
  // they are now, its eventId (unless the options are the module's to
  // judge) and its sentAt.
  function record(eventType, properties, options, at, sessionId, userId) {
    var opts = copy(options);
    if (opts == null) opts = {};
    var own = isPlainObject(opts);
    if (own && typeof opts.eventId !== "string") opts.eventId = newID();
    return {
      type: eventType, props: copy(properties), opts: opts, t: at,
      s: sessionId, u: userId, id: own ? opts.eventId : null,
      plain: null, chunk: null, done: false, sending: false
    };
  }

  function journalAdd(rec) {
    if (!store || consentState !== "granted" || rec.chunk) return;
    if (journal.events >= maxJournalEvents) {
      journal.errors++;
      return;
    }
    journal.events++;
    push(unwritten, rec);
    if (writeScheduled) return;
    writeScheduled = true;
    if (microtask) call(microtask, [journalWrite]);
    else then(resolved(), journalWrite);
  }

  // journalWrite writes the records of this task as one item: each
  // setItem costs the page about as much whatever its size.
  function journalWrite() {
    writeScheduled = false;
    var recs = unwritten;
    unwritten = [];
    var live = [];
    for (var i = 0; i < recs.length; i++) {
      if (!recs[i].done) push(live, recs[i]);
      else journal.events--;
    }
    if (!live.length) return;
    var out = [];
    for (var j = 0; j < live.length; j++) {
      var r = live[j];
      push(out, { c: [r.type, r.props, r.opts], t: r.t, s: r.s, u: r.u });
    }
    var v;
    try {
      v = stringify(out);
    } catch (err) {
      // A call JSON cannot write (a bigint, a cycle) is one the module
      // refuses anyway; the task's other calls must not go unjournaled
      // with it. Each is written alone to find it.
      var kept = [], keptOut = [];
      for (var m = 0; m < live.length; m++) {
        try {
          stringify(out[m]);
          push(kept, live[m]);
          push(keptOut, out[m]);
        } catch (e) {
          journal.events--;
        }
      }
      if (!kept.length) return;
      live = kept;
      v = stringify(keptOut);
    }
    var chunk = { key: prefix + "j:" + tab + ":" + (++journal.seq), live: live.length, size: 0 };
    chunk.size = chunk.key.length + v.length;
    if (journal.bytes + chunk.size > maxJournalBytes || !storageDo(function () { store.setItem(chunk.key, v); })) {
      if (journal.bytes + chunk.size > maxJournalBytes) journal.errors++;
      journal.events -= live.length;
      return;
    }
    journal.bytes += chunk.size;
    for (var k = 0; k < live.length; k++) live[k].chunk = chunk;
  }

  // journalDone forgets a record: the module has it, or the collector.
  function journalDone(rec) {
    if (rec.done) return;
    rec.done = true;
    var chunk = rec.chunk;
    if (!chunk) return; // in unwritten, or never journaled
    journal.events--;
    if (--chunk.live > 0) return;
    if (storageDo(function () { store.removeItem(chunk.key); })) journal.bytes -= chunk.size;
  }

  // journalForget drops every record of this page, for a visitor who
  // denied consent or opted out.
  function journalForget() {
    for (var i = 0; i < pending.length; i++) if (pending[i].rec) journalDone(pending[i].rec);
    for (var j = 0; j < unwritten.length; j++) unwritten[j].done = true; // journalWrite counts them
  }

  // pendingTracks counts the track calls in pending.
  var tracksPending = 0;
  function pendingTracks() { return tracksPending; }
  function maxQueue() { return +config.maxQueue > 0 ? +config.maxQueue : 1000; }

  // ---- The API before the module runs ---------------------------------

  // track journals the call, then queues it for the module (or hands it
  // to the running module, or rejects it when the module cannot start:
  // the journal keeps it for a later page).
  t.track = function (eventType, properties, options) {
    return track(eventType, properties, options, now(), null);
  };
  function track(eventType, properties, options, at, resolveWith) {
    if (!prefix && config.trackingId) setUp();
    var rec = record(eventType, properties, options, at, session.id, session.user);
    if (consentState !== "denied") journalAdd(rec);
    if (api) return tracks.track(rec);
    if (failure) {
      // Kept for the unload path, bounded; the journal keeps it for the
      // next page, where the module may load.
      if (pending.length < maxQueue()) push(pending, { method: "failed", rec: rec });
      return new P(function (res, rej) { rej(failure); });
    }
    if (pendingTracks() >= maxQueue()) {
      journalDone(rec);
      return new P(function (res, rej) { rej(new Err("queue full: too many events wait to be sent; event dropped")); });
    }
    var c = { method: "track", args: [rec.type, rec.props, rec.opts], rec: rec };
    push(pending, c);
    tracksPending++;
    if (resolveWith === false) return undefined;
    return new P(function (resolve, reject) { c.resolve = resolve; c.reject = reject; });
  }

  // Before the module runs, other calls are queued; flush returns a
  // Promise that settles when the call really happens.
  function later(method, returnsPromise) {
    return function () {
      var args = [];
      for (var i = 0; i < arguments.length; i++) push(args, arguments[i]);
      if (failure) {
        if (returnsPromise) return new P(function (res, rej) { rej(failure); });
        if (method !== "on") return undefined;
      }
      before(method, args);
      var c = { method: method, args: args };
      push(pending, c);
      if (method === "on") {
        return function off() {
          if (typeof c.off === "function") c.off(); // replayed: undo the real one
          else c.method = "noop"; // not replayed yet: never do it
        };
      }
      if (!returnsPromise) return undefined;
      return new P(function (resolve, reject) {
        c.resolve = resolve;
        c.reject = reject;
      });
    };
  }
  // before applies a call to the loader's own state, which decides the
  // session, user and consent of the calls journaled after it.
  function before(method, args) {
    if (!prefix && config.trackingId) setUp();
    switch (method) {
      case "identify":
        if (typeof args[0] === "string" && args[0]) session.user = args[0];
        break;
      case "reset":
        session.user = "";
        session.id = saveSession(newID());
        break;
      case "consent":
        setConsent(args[0] ? "granted" : "denied");
        break;
      case "optIn":
        storageDo(function () { store.removeItem(prefix + "optout"); });
        setConsent("granted");
        break;
      case "optOut":
        storageDo(function () { store.setItem(prefix + "optout", "1"); });
        setConsent("denied");
        break;
    }
  }
  function setConsent(c) {
    var prev = consentState;
    consentState = c;
    if (c === "denied") journalForget();
    if (c === "granted" && prev === "pending") {
      for (var i = 0; i < pending.length; i++) if (pending[i].rec) journalAdd(pending[i].rec);
    }
  }
  function notReady() {
    throw new Err("tracklet: not ready yet; call this after `await tracklet.ready`");
  }
  var laterMethods = ["identify", "reset", "consent", "optIn", "optOut", "on"];
  for (var lm = 0; lm < laterMethods.length; lm++) t[laterMethods[lm]] = later(laterMethods[lm], false);
  t.flush = later("flush", true);
  t.buildEvent = t.validate = t.sessionId = t.consentState = notReady;
  t.stats = function () {
    return {
      queued: pendingTracks(), sent: 0, failed: 0, dropped: 0, retries: 0,
      stored: journal.events, storedBytes: journal.bytes, storageErrors: journal.errors
    };
  };
  t.init = function (options) {
    if (started) {
      console.warn("tracklet.init: called after the tracker started; ignored");
      return;
    }
    var ks = keysOf(options || {});
    for (var i = 0; i < ks.length; i++) config[ks[i]] = options[ks[i]];
    if (config.trackingId) setUp();
    begin();
  };

  if (config.trackingId) setUp();
  var loadedAt = now();
  for (var sc = 0; sc < snippetCalls.length; sc++) {
    var s = snippetCalls[sc];
    var args = [];
    for (var ai = 0; s[1] && ai < s[1].length; ai++) push(args, s[1][ai]);
    if (s[0] === "init") t.init(args[0]);
    else if (s[0] === "track") track(args[0], args[1], args[2], typeof s[2] === "number" ? s[2] : loadedAt, false);
    else if (typeof t[s[0]] === "function") {
      before(s[0], args);
      push(pending, { method: s[0], args: args });
    }
  }
  // The module starts in callbacks, never by returning a Promise from a
  // then callback: adopting a Promise calls its then, which the page may
  // have replaced.
  var readyResolve, readyReject;
  t.ready = new P(function (res, rej) { readyResolve = res; readyReject = rej; });
  then(t.ready, null, function () {}); // failure is reported below; a page that awaits it still sees it
  function begin() {
    if (begun) return;
    begun = true;
    start(function (a, whenComplete) {
      api = a;
      bind(a);
      replay();
      if (whenComplete) whenComplete(function () { readyResolve(t); });
      else readyResolve(t);
    }, function (err) {
      failed(err);
      readyReject(failure);
    });
  }
  if (config.trackingId) begin();

  function failed(err) {
    failure = err instanceof Err ? err : new Err(String(err));
    console.error(failure.message);
    var calls = pending;
    pending = [];
    for (var i = 0; i < calls.length; i++) {
      // The journal keeps the track calls for a later page.
      if (calls[i].reject) calls[i].reject(failure);
      if (calls[i].rec && !calls[i].rec.done) push(pending, calls[i]); // for the unload path
    }
    for (var j = 0; j < pending.length; j++) pending[j].method = "failed";
    tracksPending = 0;
  }

  // ---- Leaving the page -----------------------------------------------
  //
  // When the page is hidden or left, the calls the module has not taken
  // (it has not started, or cannot) go to the collector at once, one event
  // a request with keepalive, so that they outlive the page: one event a
  // request because PutEvents takes or refuses a request whole, and the
  // collector is what judges an event the loader forms. What the keepalive
  // budget does not take stays journaled for the next page of the site.
  // Capturing listeners on window run before the module's own.
  //
  // On pagehide the page gives up its lease even when it may come back
  // from the back/forward cache: most never do, and the next page of the
  // site must not wait minutes for the lease to expire. One that comes
  // back takes its lease again; an event both pages then send is stored
  // once.
  listen(w, "pagehide", function () { leaving("gone"); }, true);
  listen(w, "visibilitychange", function () { if (d.visibilityState === "hidden") leaving("hidden"); }, true);
  listen(w, "pageshow", function (e) { if (e.persisted) takeLease(); }, true);

  //
  // With the module in its Worker, which ends with the page and cannot
  // send in time, the page also sends the events the Worker has and has
  // not delivered: those it has not answered yet, then those it took.
  // They are in the module's store too, for the next page; one the
  // Worker then delivers as well is stored once.
  function leaving(how) {
    if (tracks) tracks.drainAll();
    if (engine) writeIdle(engine);
    if (writeScheduled) journalWrite();
    if (consentState === "granted" && prefix) {
      var room = true;
      for (var i = 0; i < pending.length && room; i++) {
        var rec = pending[i].rec;
        if (rec && rec.id && !rec.done && !rec.sending && isPlain(rec)) room = sendOne(pending[i]);
      }
      for (var seq in waiting) {
        if (!room) break;
        var r = waiting[seq].rec;
        if (r && r.id && !r.sending && !r.delivered && isPlain(r)) room = sendRec(r, null);
      }
      for (var id in held) {
        if (!room) break;
        if (!held[id].sending) room = sendRec(held[id], forget(id));
      }
    }
    if (how === "gone") storageDo(function () { store.removeItem(prefix + "t:" + tab); });
  }
  function forget(id) { return function () { delete held[id]; }; }

  // sendOne posts one queued call's event with keepalive; false when the
  // budget has no room for it.
  function sendOne(c) {
    return sendRec(c.rec, function () {
      // Delivered: the module need not see it.
      if (c.method === "track") tracksPending--;
      c.method = "noop";
      if (c.resolve) c.resolve(c.rec.id);
    });
  }

  // sendRec posts the event of one call's record with keepalive, and
  // calls delivered if the page lives to hear it was.
  function sendRec(rec, delivered) {
    var body = requestJSON(config.trackingId, rec.s, rec.u, [eventJSON(rec.type, rec.props, rec.opts, rec.t)]);
    if (inflightBytes + body.length > keepaliveBudget) return false;
    inflightBytes += body.length;
    rec.sending = true;
    var url = ("" + config.endpoint).replace(/\/+$/, "") + "/events?sentAt=" + now();
    var p;
    try {
      p = apply(nativeFetch, w, [url, {
        method: "POST", body: body, keepalive: true, credentials: "omit", mode: "cors",
        headers: { "Content-Type": "text/plain;charset=UTF-8" }
      }]);
    } catch (e) {
      p = new P(function (res, rej) { rej(e); });
    }
    then(p, function (resp) {
      inflightBytes -= body.length;
      rec.sending = false;
      if (!resp.ok) return; // the module, here or on a later page, tries again
      rec.delivered = true;
      journalDone(rec);
      if (delivered) delivered();
    }, function () {
      inflightBytes -= body.length;
      rec.sending = false;
    });
    return true;
  }

  // ---- Starting the module ------------------------------------------------

  // start loads the module once the page has loaded and hands its api
  // to done, or the reason it cannot start to fail.
  function start(done, fail) {
    afterLoad(function () {
      // The journals of the site's pages that are gone, taken after load:
      // reading them costs the page nothing before it has loaded.
      claim();
      started = true;
      if (!flag(config.worker, true) || typeof NativeWorker !== "function") return startPage(done, fail);
      // The Worker starts in a task of its own: each part of the start
      // stays a short task for the page.
      setT(function () {
        startWorker(done, function (err) {
          if (flag(config.debug, false)) console.debug("tracklet: the module runs on the page: " + (err && err.message || err));
          startPage(done, fail);
        });
      }, 0);
    });
  }

  // startPage runs the module on the page's main thread: where no Worker
  // can run it, or with data-worker="false".
  function startPage(done, fail) {
    // Go's runtime glue and the module download (and the module
    // compiles) side by side: neither needs the other until instantiate.
    var mod = null, glue = !!w.Go, over = false;
    function stop(err) {
      if (!over) fail(err);
      over = true;
    }
    function both() {
      if (!mod || !glue || over) return;
      over = true;
      var go = new w.Go();
      then(WebAssembly.instantiate(mod, go.importObject), function (instance) {
        config.tab = tab; // one lease for the loader's journal and the module's store
        config.senderUrl = senderURL; // the sending Worker's script
        try {
          var a = run(go, instance, config);
          tracks = batchTracks(function (batch) {
            hand(a, batch);
            // The module has saved the events in its own store: the journal lets them go.
            for (var k = 0; k < batch.length; k++) journalDone(batch[k].rec);
          });
          done(a);
        } catch (err) {
          fail(err);
        }
      }, fail);
    }
    if (!glue) loadScript(glueURL, function () { glue = true; both(); }, stop);
    compile(wasmURL, function (m) { mod = m; both(); }, stop);
  }

  // bind replaces the queueing functions with the module's own.
  function bind(a) {
    var names = keysOf(a);
    for (var i = 0; i < names.length; i++) {
      var m = names[i];
      if (internal(m)) continue;
      t[m] = wrap(m === "buildEvent" ? builder(a[m]) : a[m], m !== "stats" && m !== "sessionId" && m !== "consentState" ? m : "");
    }
  }
  function wrap(f, method) {
    return function () {
      tracks.drainAll();
      if (method) {
        var args = [];
        for (var i = 0; i < arguments.length; i++) push(args, arguments[i]);
        before(method, args);
        // The module's reset starts the session the loader has picked.
        if (method === "reset") return check(call(f, [session.id]));
      }
      return check(apply(f, null, arguments));
    };
  }

  // tracks are the track calls on their way to the module (batchTracks),
  // once it runs.
  var tracks = null;

  // replay makes the queued calls, in the order they were made.
  function replay() {
    var queued = pending;
    pending = [];
    tracksPending = 0;
    for (var i = 0; i < queued.length; i++) replayOne(queued[i]);
  }
  function replayOne(c) {
    if (c.method === "noop") return; // an on() undone before ready, or delivered
    var result;
    try {
      if (c.rec) result = tracks.track(c.rec);
      else {
        result = apply(t[c.method], null, c.args);
        if (c.method === "on") c.off = result;
      }
      if (!(result instanceof P)) {
        var v = result;
        result = new P(function (res) { res(v); });
      }
    } catch (err) {
      result = new P(function (res, rej) { rej(err); });
    }
    if (c.resolve) {
      then(result, c.resolve, c.reject);
    } else {
      // Nobody holds a promise for a snippet call: say what went wrong.
      then(result, null, function (err) { console.warn("tracklet." + c.method + ": " + err.message); });
    }
  }

  // afterLoad waits for the load event and then for an idle moment, so the
  // tracker's download and compile never compete with the page's own.
  function afterLoad(f) {
    function later() { idle(f, 2000); }
    if (d.readyState === "complete") later();
    else listen(w, "load", later, { once: true });
  }

  // idle runs f at the page's next idle moment, or after timeout ms.
  function idle(f, timeout) {
    if (w.requestIdleCallback) w.requestIdleCallback(function () { f(); }, { timeout: timeout });
    else setT(f, 0);
  }

  function loadScript(src, done, fail) {
    var el = d.createElement("script");
    el.src = src;
    el.fetchPriority = "low";
    if (script.nonce) el.nonce = script.nonce; // a strict CSP allows the loader's nonce
    el.onload = function () { done(); };
    el.onerror = function () { fail(new Err("tracklet: cannot load " + src)); };
    (d.head || d.documentElement).appendChild(el);
  }

  // ---- The module in its Worker ---------------------------------------
  //
  // The module (validation, batching, storage decisions, retries) and its
  // start-up (compile, instantiate, Go's init, the tracker, the replay)
  // run in a dedicated Worker, off the page's main thread, whose script is
  // this file: the page starts it from tracklet.js's own URL, through a
  // one-line blob: bootstrap when the collector is on another origin (a
  // Worker's script must be same-origin). Where no Worker can run it (no
  // Worker, a Content-Security-Policy that forbids it, a Worker that fails
  // before it is ready) the page runs the module as before. A dedicated
  // Worker rather than a SharedWorker: see the README ("Off the main
  // thread").
  //
  //   page → Worker  {k: "start", config, wasm, glue, snapshot}
  //                  {k: "track", seqs, list: [[eventType, properties, options, t]] or encodeCalls(list)}
  //                  {k: "call", seq, m, a}      identify, reset, consent, optIn, optOut, flush
  //   Worker → page  {k: "module", module}       the compiled module, for buildEvent and validate
  //                  {k: "fail", error}          it cannot start
  //                  {k: "ready" | "state", r, n, ops, st, s}
  //
  // r are answers, [seq, ok, value], n the module's notices (on), st its
  // stats and s its session, mirrored on the page for the functions that
  // answer at once (stats, sessionId). The module keeps its queue in
  // localStorage as on the page; a Worker has none, so it works on a copy
  // of the site's keys (snapshot) and its writes (ops, [key, value|null])
  // come back to the page, which makes them in order, before it settles
  // the calls whose events they save: the journal lets a call go only
  // once the module has saved its event.

  var engine = null; // the Worker, once the module runs in it
  var waiting = {}; // calls handed to the Worker, by seq, until answered
  var held = {}; // events the module took and has not delivered, by eventId
  var seqN = 0;
  var mirror = null; // the module's stats, as it last posted them
  var resets = 0; // resets on their way: the session is the loader's until answered
  var listeners = { sent: [], error: [], dropped: [] };
  var wasmModule = null, pageGo = null, pageApi = null;
  var storageFull = false; // a write the Worker asked for failed here

  // startWorker runs the module in its Worker and hands the page's proxy
  // of its api to done; fallback gets the reason no Worker can run it.
  function startWorker(done, fallback) {
    var wk = null, bootstrap = null, over = false;
    function give(err) {
      if (over) return;
      over = true;
      try { if (wk) wk.terminate(); } catch (e) { /* gone already */ }
      fallback(err);
    }
    try {
      var src = script.src;
      if (new URL(src).origin !== w.location.origin) {
        bootstrap = URL.createObjectURL(new Blob(["importScripts(" + stringify(src) + ");"], { type: "text/javascript" }));
      }
      wk = new NativeWorker(bootstrap || src, { name: "tracklet" });
    } catch (err) {
      return give(err);
    }
    listen(wk, "error", function (e) {
      if (e && e.preventDefault) e.preventDefault(); // ours to handle, not the page's console
      if (!over) return give(new Err("tracklet: the module's Worker failed" + (e && e.message ? ": " + e.message : "")));
      console.error("tracklet: the module's Worker stopped" + (e && e.message ? ": " + e.message : ""));
    });
    listen(wk, "message", function (e) {
      var m = e.data;
      if (bootstrap) {
        URL.revokeObjectURL(bootstrap); // the Worker runs: its script is in
        bootstrap = null;
      }
      if (m.k === "fail") return give(new Err(m.error));
      if (m.k === "module") {
        wasmModule = m.module;
        return;
      }
      received(m, wk);
      if (m.k !== "ready") return;
      over = true;
      engine = wk;
      tracks = batchTracks(postTracks);
      // The calls go to the Worker at once. ready waits for the module's
      // instance on the page too, from which buildEvent and validate
      // answer at once (see pageModule): its glue is loaded, and it is
      // made, at idle moments; Go starts there only if the page calls
      // them.
      var complete = null, completed = false;
      done(proxy(), function (f) {
        if (completed) f();
        else complete = f;
      });
      function finish() {
        completed = true;
        if (complete) complete();
      }
      function instantiate() {
        if (!wasmModule || !w.Go) return finish();
        var go = new w.Go();
        then(WebAssembly.instantiate(wasmModule, go.importObject), function (instance) {
          pageGo = { go: go, instance: instance };
          finish();
        }, finish);
      }
      idle(function () {
        if (w.Go) idle(instantiate, 2000);
        else loadScript(glueURL, function () { idle(instantiate, 2000); }, finish);
      }, 2000);
    });
    wk.postMessage({ k: "start", config: workerConfig(), wasm: wasmURL, glue: glueURL, snapshot: snapshot() });
  }

  // workerConfig is the module's configuration in the Worker: as on the
  // page, with the consent the loader decided before any call (Global
  // Privacy Control is the page's to read) and no unload path, which is
  // the page's. The calls made since are replayed to it.
  function workerConfig() {
    var cfg = {};
    var ks = keysOf(config);
    for (var i = 0; i < ks.length; i++) {
      var v = config[ks[i]];
      if (v === null || typeof v !== "object" && typeof v !== "function") cfg[ks[i]] = v;
    }
    cfg.tab = tab;
    cfg.storage = !!store;
    cfg.consent = initialConsent;
    cfg.respectGpc = false; // decided: initialConsent
    cfg.unload = false;
    return cfg;
  }

  // snapshot copies the site's keys for the module's store in the Worker,
  // or is null when the storage takes no write (full), which the module
  // then counts as storage errors.
  function snapshot() {
    var out = {};
    if (!storageDo(function () { store.setItem(prefix + "w", "1"); store.removeItem(prefix + "w"); })) return null;
    storageDo(function () {
      for (var i = 0; i < store.length; i++) {
        var k = store.key(i);
        if (typeof k === "string" && k.slice(0, prefix.length) === prefix) out[k] = store.getItem(k);
      }
    });
    return out;
  }

  // received applies what the Worker posted: its writes first, then the
  // answers they make safe to give. Writes that come without answers (a
  // delivered event's item shrunk or removed, the lease, the session)
  // make nothing safe: they wait for an idle moment, each key's last
  // value only, as a delivered burst rewrites each item several times.
  function received(m, wk) {
    var ops = m.ops || [];
    if (m.k !== "ready" && !(m.r && m.r.length)) {
      for (var i = 0; i < ops.length; i++) {
        if (!idleOps) {
          idleOps = O.create(null);
          idle(function () { writeIdle(wk); }, 1000);
        }
        idleOps[ops[i][0]] = ops[i][1];
      }
    } else {
      writeIdle(wk);
      for (var j = 0; j < ops.length; j++) write(wk, ops[j][0], ops[j][1]);
    }
    if (m.st) mirror = m.st;
    if (m.s && !resets) session.id = m.s;
    var rs = m.r || [];
    for (var a = 0; a < rs.length; a++) answered(rs[a][0], rs[a][1], rs[a][2]);
    var ns = m.n || [];
    for (var n = 0; n < ns.length; n++) noticed(ns[n]);
  }

  var idleOps = null; // key → value (null: removed), to be written when idle
  function writeIdle(wk) {
    var ops = idleOps;
    idleOps = null;
    for (var k in ops) write(wk, k, ops[k]);
  }
  function write(wk, k, v) {
    if (!storageDo(v === null ? function () { store.removeItem(k); } : function () { store.setItem(k, v); }) && !storageFull) {
      storageFull = true; // from now on the module's writes fail in the Worker, as they do here
      wk.postMessage({ k: "full" });
    }
  }

  function answered(seq, ok, v) {
    var c = waiting[seq];
    if (!c) return;
    delete waiting[seq];
    if (c.rec) {
      journalDone(c.rec); // the module has saved it
      if (!ok) return c.rej(new Err(v));
      if (typeof v === "string" && c.rec.id === v && !c.rec.delivered && isPlain(c.rec)) held[v] = c.rec;
      return c.res(v);
    }
    if (c.m === "reset") resets--;
    if (ok) return c.resolve && c.resolve(v);
    if (c.m === "identify") session.user = c.user; // the module refused it
    if (c.reject) c.reject(new Err(v));
    else console.error("tracklet." + c.m + ": " + v);
  }

  // noticed tells the page's listeners, each in a task of its own, as the
  // module does on the page.
  function noticed(n) {
    if (n.type !== "error") for (var i = 0; i < n.eventIds.length; i++) delete held[n.eventIds[i]];
    var ls = listeners[n.type] || [];
    for (var j = 0; j < ls.length; j++) setT(ls[j], 0, n);
  }

  // postTracks hands a batch of track calls to the Worker, which encodes
  // them (encodeCalls) for the module: structured clone carries what JSON
  // does not (undefined, NaN, Dates, ...) and costs the page less. A call
  // whose arguments it cannot copy (a function, a DOM node) makes the page
  // encode the batch itself.
  function postTracks(batch) {
    var seqs = [], list = [];
    for (var i = 0; i < batch.length; i++) {
      var c = batch[i], r = c.rec, seq = ++seqN;
      waiting[seq] = c;
      push(seqs, seq);
      push(list, [r.type, r.props, r.opts, c.t]);
    }
    try {
      engine.postMessage({ k: "track", seqs: seqs, list: list });
    } catch (err) {
      engine.postMessage({ k: "track", seqs: seqs, list: encodeCalls(list) });
    }
  }

  // postCall hands another call to the Worker, in order with the tracks.
  function postCall(m, args, c) {
    var seq = ++seqN;
    c.m = m;
    waiting[seq] = c;
    engine.postMessage({ k: "call", seq: seq, m: m, a: args });
  }

  // proxy is the module's api as the page sees it with the module in its
  // Worker: the same functions, answering from the mirror where they
  // answer at once.
  function proxy() {
    function forward(m) {
      return function () {
        var args = [];
        for (var i = 0; i < arguments.length; i++) push(args, arguments[i]);
        postCall(m, args, {});
      };
    }
    return {
      identify: function (id) { postCall("identify", [id], { user: session.user }); },
      reset: function (id) { resets++; postCall("reset", [id], {}); },
      consent: forward("consent"), optIn: forward("optIn"), optOut: forward("optOut"),
      flush: function () {
        return new P(function (resolve, reject) { postCall("flush", [], { resolve: resolve, reject: reject }); });
      },
      stats: function () {
        var s = mirror || {};
        var queued = tracks.calls.length;
        for (var k in waiting) if (waiting[k].rec) queued++;
        return {
          queued: (s.queued || 0) + queued, sent: s.sent || 0, failed: s.failed || 0, dropped: s.dropped || 0,
          retries: s.retries || 0, stored: s.stored || 0, storedBytes: s.storedBytes || 0,
          storageErrors: (s.storageErrors || 0) + journal.errors
        };
      },
      sessionId: function () { return session.id; },
      consentState: function () { return consentState; },
      on: function (kind, fn) {
        var ls = listeners[kind];
        if (!ls || typeof fn !== "function") return new Err('on: expected on("sent"|"error"|"dropped", function)');
        push(ls, fn);
        return function () {
          for (var i = 0; i < ls.length; i++) if (ls[i] === fn) return ls.splice(i, 1);
        };
      },
      buildEvent: function () { return apply(pageModule().buildEvent, null, arguments); },
      validate: function () { return apply(pageModule().validate, null, arguments); }
    };
  }

  // pageModule starts the module on the page for the functions that must
  // answer at once and need Go's rules: buildEvent and validate. A page
  // that calls them pays Go's start-up on its main thread, once, at the
  // first call; track and the others never do. The instance was made
  // before ready: Chromium refuses to make one of a module this size
  // synchronously on the main thread.
  function pageModule() {
    if (pageApi) return pageApi;
    if (!pageGo) throw new Err("tracklet: the module could not be loaded on this page");
    pageApi = run(pageGo.go, pageGo.instance, {
      trackingId: config.trackingId, endpoint: config.endpoint, storage: false, unload: false, compress: false
    });
    return pageApi;
  }

  try { performance.measure("tracklet:loader", { start: startedAt }); } catch (e) { /* old browser */ }

  // findScript finds this script's tag when currentScript is not set.
  function findScript() {
    var tags = d.querySelectorAll("script[data-tracking-id], script[src*='tracklet.js']");
    return tags[tags.length - 1] || null;
  }
}
