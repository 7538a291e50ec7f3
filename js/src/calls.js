// How track calls reach the Go module: batched, handed over in runs, and
// judged "plain" (JSON-safe) or not. The script-tag loader, its Worker and
// the ES module all hand calls through this one file, so the JS side of the
// JS↔Go track protocol has one home.
//
// A call is {a: [eventType, properties, options], t: sentAt ms, rec, res,
// rej}: rec is its record {type, props, opts, plain, ...} (the loader's
// journal record, or a bare one), res and rej settle the call's Promise.

import { w, O, apply, keysOf, protoOf, hasOwn, isArray, stringify, parseJSON, P, setT, Err, push } from "./natives.js";

// The options a plain call may carry, and their types (see plainArgs).
var plainOptions = {
  eventId: "string", itemId: "string", recommendationId: "string", metricAttribution: "string",
  eventValue: "number", sentAt: "number", impression: "strings"
};

// internal reports whether a name of the module's api is a track entry
// point, which only hand calls: the page's track() is batchTracks'.
export function internal(name) {
  return name === "trackMany" || name === "trackJSON" || name === "track";
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
    var c = { a: [rec.type, rec.props, rec.opts], t: rec.t, rec: rec };
    var p = new P(function (resolve, reject) { c.res = resolve; c.rej = reject; });
    push(calls, c);
    schedule();
    return p;
  };
  return { calls: calls, drainAll: drainAll, track: trackNow };
}

// hand gives the module a batch of track calls, in order. Runs of plain
// calls go as one JSON string and their outcomes come back as one:
// reading each argument across the JS/Go boundary costs more than
// tracking the event. Other calls, and every call for a module without
// trackJSON, go as JS values through trackMany. The module has saved
// the events in its own store when it returns.
export function hand(a, batch) {
  for (var i = 0; i < batch.length;) {
    var asJSON = !!a.trackJSON && isPlain(batch[i].rec);
    var j = i + 1;
    while (j < batch.length && (!!a.trackJSON && isPlain(batch[j].rec)) === asJSON) j++;
    var run = batch.slice(i, j);
    if (!asJSON || !handJSON(a, run)) a.trackMany(run);
    i = j;
  }
}

// handJSON settles each call of run from trackJSON's outcomes: an
// eventId, null (no consent) or {error}. False when the module refused
// the batch and tracked none of it.
function handJSON(a, run) {
  var list = [];
  for (var i = 0; i < run.length; i++) push(list, [run[i].a[0], run[i].a[1], run[i].a[2], run[i].t]);
  var out = a.trackJSON(stringify(list));
  if (typeof out !== "string") return false;
  var rs = parseJSON(out);
  for (var k = 0; k < rs.length; k++) {
    var r = rs[k];
    if (r === null || typeof r === "string") run[k].res(r);
    else run[k].rej(new Err(r.error));
  }
  return true;
}

// plainArgs reports whether a call's arguments come through JSON
// unchanged: what JSON would drop, round or turn into something else
// (undefined members, -0, NaN, Dates, nested objects, unknown options)
// is left to trackMany, which judges the JS values themselves, and is
// never formed into an event by the loader.
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
// The page posts track calls to the Worker as [seq, eventType,
// properties, options, t, revive?] (see postTracks in page.js); the
// Worker hands them to the module as above (trackInWorker).

// describe replaces what structured clone refuses with {"\u0000": typeof}.
export function describe(v) {
  if (typeof v === "function" || typeof v === "symbol") return { "\u0000": typeof v };
  if (v === null || typeof v !== "object") return v;
  try {
    w.structuredClone(v);
    return v;
  } catch (e) { /* described below */ }
  if (!isArray(v) && !isPlainObject(v)) return { "\u0000": "object" };
  var out = isArray(v) ? [] : {};
  var ks = keysOf(v);
  for (var i = 0; i < ks.length; i++) out[ks[i]] = describe(v[ks[i]]);
  return out;
}

// trackInWorker hands the module the track calls the page posted; answer
// (seq, ok) settles one.
export function trackInWorker(api, list, answer) {
  var batch = [];
  for (var i = 0; i < list.length; i++) {
    var l = list[i];
    var rec = { type: revive(l[1], l[5]), props: revive(l[2], l[5]), opts: revive(l[3], l[5]), plain: null };
    push(batch, { a: [rec.type, rec.props, rec.opts], t: l[4], rec: rec, res: answer(l[0], 1), rej: answer(l[0], 0) });
  }
  hand(api, batch);
}

// revive undoes describe: what the page could not copy comes back as a
// value of the same type, for the module to judge.
function revive(v, described) {
  if (!described || v === null || typeof v !== "object") return v;
  var ks = keysOf(v);
  if (ks.length === 1 && ks[0] === "\u0000") {
    switch (v["\u0000"]) {
      case "function": return function () {};
      case "symbol": return Symbol();
      default: return new (function Opaque() {})();
    }
  }
  for (var i = 0; i < ks.length; i++) v[ks[i]] = revive(v[ks[i]], 1);
  return v;
}
