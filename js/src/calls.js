// How track calls reach the Go module: batched, and handed over as one
// JSON string a batch (encodeCalls), the module's one entry point for
// them. The script-tag loader, its Worker and the ES module all hand calls
// through this one file, so the JS side of the JS↔Go track protocol has
// one home. isPlain, for the loader's own events when a visitor leaves
// early, is here too.
//
// A call is {t: sentAt ms, rec, res, rej}: rec is its record {type,
// props, opts, plain, ...} (the loader's journal record, or a bare one),
// res and rej settle the call's Promise.

import { w, O, apply, keysOf, protoOf, hasOwn, isArray, stringify, parseJSON, P, setT, Err, push } from "./natives.js";

// The options eventJSON writes, and their types: the loader forms an
// event itself only from a call it writes as the module would (see
// isPlain). A copy of the module's table (tracker.OptionList), held to
// it by js/options_test.go; the module's track knows its own.
var plainOptions = {
  eventId: "string", itemId: "string", recommendationId: "string", metricAttribution: "string",
  eventValue: "number", sentAt: "number", impression: "strings"
};
var kindKey = "\u0000"; // the member of encodeCalls's descriptions

// internal reports whether a name of the module's api is a track entry
// point, which only hand calls: the page's track() is batchTracks'.
export function internal(name) {
  return name === "track";
}

// builder hands the module's buildEvent its call as track's calls are
// handed over (encodeCalls), one call with no time.
export function builder(build) {
  return function (eventType, properties, options) {
    return build(encodeCalls([[eventType, properties, options, null]]));
  };
}

// batchTracks makes track() cheap for the page: calling from JavaScript
// into the Go module costs more than tracking an event, so track() only
// journals the call and returns; the module takes the calls in batches,
// in tasks of their own, through give. Calls that must see the tracked
// events first (identify, flush, stats, ...) and a page being hidden hand
// the batch over at once (drainAll). It returns {calls, drainAll, track}:
// track(rec) queues the call of a record and returns its Promise.
export function batchTracks(give) {
  var calls = [];
  var scheduled = false;
  var channel = w.MessageChannel ? new MessageChannel() : null;
  function drain() {
    scheduled = false;
    // 50 calls at a time, so that the page's own tasks go in between.
    give(calls.splice(0, 50));
    if (calls.length) schedule();
  }
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    if (channel) channel.port2.postMessage(0);
    else setT(drain, 0);
  }
  if (channel) channel.port1.onmessage = function () { if (scheduled) drain(); };
  var drainAll = function () {
    scheduled = false;
    if (calls.length) give(calls.splice(0, calls.length));
  };
  var trackNow = function (rec) {
    var c = { t: rec.t, rec: rec };
    var p = new P(function (resolve, reject) { c.res = resolve; c.rej = reject; });
    push(calls, c);
    schedule();
    return p;
  };
  return { calls: calls, drainAll: drainAll, track: trackNow };
}

// hand gives the module a batch of track calls, in order, as one JSON
// string (see encodeCalls), and settles each call from the outcomes,
// which come back as one: reading each argument across the JS/Go
// boundary costs more than tracking the event. The module has saved
// the events in its own store when it returns.
export function hand(a, batch) {
  var list = [];
  for (var i = 0; i < batch.length; i++) {
    var r = batch[i].rec;
    push(list, [r.type, r.props, r.opts, batch[i].t]);
  }
  settle(a.track(encodeCalls(list)), batch.length, function (k, ok, v) {
    if (ok) batch[k].res(v);
    else batch[k].rej(new Err(v));
  });
}

// settle reads track's outcomes, one per call: an eventId, null (no
// consent) or {error}, and gives each to answer(k, ok, value or
// message). An Error instead (a batch the module cannot read) refuses
// every call with it.
export function settle(out, n, answer) {
  var rs = typeof out === "string" ? parseJSON(out) : null;
  for (var k = 0; k < n; k++) {
    var r = rs ? rs[k] : { error: out && out.message || "" + out };
    if (r === null || typeof r === "string") answer(k, 1, r);
    else answer(k, 0, r.error);
  }
}

// encodeCalls writes track calls, [eventType, properties, options, t],
// as the JSON string the module's track and buildEvent take. It knows
// no option and no rule: the module applies them all. What JSON would
// not carry as it is (undefined, a function, a symbol, a bigint, NaN,
// ±Infinity, -0, a Date, an object that is not plain, a member named
// "\u0000") it replaces by a description {"\u0000": kind, ...} (see
// wasm/tracker/call.go), from which the module judges the value as the
// value itself. Below the second level it describes objects by kind
// alone: no rule reads more there, and cycles end. Calls JSON carries
// as they are, the common case, are only checked.
export function encodeCalls(list) {
  for (var i = 0; i < list.length; i++) {
    var l = list[i];
    if (!faithful(l[0], 0) || !faithful(l[1], 0) || !faithful(l[2], 0)) {
      list[i] = [describe(l[0], 0), describe(l[1], 0), describe(l[2], 0), l[3]];
    }
  }
  return stringify(list);
}
function faithful(v, depth) {
  switch (typeof v) {
    case "string": case "boolean": return true;
    case "number": return isFinite(v) && !(v === 0 && 1 / v < 0);
    case "object":
      if (v === null) return true;
      if (depth >= 2) return false;
      if (isArray(v)) {
        for (var i = 0; i < v.length; i++) if (!faithful(v[i], depth + 1)) return false;
        return true;
      }
      if (protoOf(v) !== O.prototype || apply(hasOwn, v, [kindKey])) return false;
      var ks = keysOf(v);
      for (var j = 0; j < ks.length; j++) {
        var x = v[ks[j]]; // a string, the common member, without a call
        if (typeof x !== "string" && !faithful(x, depth + 1)) return false;
      }
      return true;
  }
  return false; // undefined, function, symbol, bigint
}
function describe(v, depth) {
  if (faithful(v, 2)) return v; // a scalar JSON carries, or null
  var desc = {};
  switch (typeof v) {
    case "number":
      desc[kindKey] = "number";
      desc.v = v !== v ? "NaN" : v === 0 ? "-0" : v > 0 ? "Infinity" : "-Infinity";
      return desc;
    case "object":
      desc[kindKey] = "object";
      if (depth >= 2) return desc;
      if (v instanceof Date) {
        desc[kindKey] = "date";
        desc.ms = describe(v.getTime(), depth + 1);
        return desc;
      }
      var arr = isArray(v), out = arr ? [] : {};
      var ks = arr ? null : keysOf(v), n = arr ? v.length : ks.length;
      for (var i = 0; i < n; i++) {
        var k = arr ? i : ks[i];
        out[k] = describe(v[k], depth + 1);
      }
      if (arr || protoOf(v) === O.prototype && !apply(hasOwn, v, [kindKey])) return out;
      desc.own = out;
      return desc;
  }
  desc[kindKey] = typeof v;
  return desc;
}

// isPlain reports whether the loader may form a call's event itself
// (eventJSON), when the page is left before the module took the call:
// whether its arguments are plain, JSON values of the types eventJSON
// writes. What JSON would drop, round or turn into something else
// (undefined members, -0, NaN, Dates, nested objects, unknown options)
// is left to the module, which judges it as the page gave it.
export function isPlain(rec) {
  if (rec.plain === null) rec.plain = plainArgs(rec.type, rec.props, rec.opts); // the copies, as at the call
  return rec.plain;
}
function plainArgs(eventType, properties, options) {
  return (typeof eventType === "string" || eventType == null) && plainObject(properties, plainScalar) && plainObject(options, plainOption);
}
export function isPlainObject(v) {
  return v !== null && typeof v === "object" && protoOf(v) === O.prototype;
}
function plainObject(v, ok) {
  if (v == null) return true;
  if (!isPlainObject(v)) return false;
  var ks = keysOf(v);
  for (var i = 0; i < ks.length; i++) if (!ok(v[ks[i]], ks[i])) return false;
  return true;
}
function plainScalar(v) {
  return typeof v === "string" || typeof v === "boolean" ||
    (typeof v === "number" && isFinite(v) && !(v === 0 && 1 / v < 0));
}
function plainOption(v, k) {
  if (!apply(hasOwn, plainOptions, [k])) return false;
  if (v == null) return true;
  switch (plainOptions[k]) {
    case "string": return typeof v === "string";
    case "number": return typeof v === "number" && plainScalar(v);
    case "strings":
      if (!isArray(v)) return false;
      for (var i = 0; i < v.length; i++) if (typeof v[i] !== "string") return false;
      return true;
  }
  return false;
}

// copy takes a plain object or array as it is at the call, so that the
// page may change it afterwards; anything else is the module's to judge.
export function copy(v) {
  if (isArray(v)) return v.slice();
  if (isPlainObject(v)) {
    var out = {};
    var ks = keysOf(v);
    for (var i = 0; i < ks.length; i++) out[ks[i]] = isArray(v[ks[i]]) ? v[ks[i]].slice() : v[ks[i]];
    return out;
  }
  return v;
}

// The module cannot throw; it returns an Error instead.
export function check(v) {
  if (v instanceof Err) throw v;
  return v;
}

// ---- Across the page and the module's Worker --------------------------
//
// The page posts track calls to the Worker as {seqs, list}: list the calls
// [eventType, properties, options, t] as structured clone copies them, or,
// when it cannot (a function, a DOM node), as the page encoded them
// (postTracks in page.js). The Worker hands them to the module as above.

// trackInWorker hands the module the track calls the page posted; answer
// (seq, ok, value or message) settles one.
export function trackInWorker(api, m, answer) {
  var list = typeof m.list === "string" ? m.list : encodeCalls(m.list);
  settle(api.track(list), m.seqs.length, function (k, ok, v) { answer(m.seqs[k], ok, v); });
}
