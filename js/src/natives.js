// natives are Tracklet's own references to what it uses, taken when the
// script (or the module) is evaluated, before the page's later code runs:
// a page that replaces Array.prototype.forEach, Promise.prototype.then or
// window.fetch later must not break the tracker (nor see the tracker's
// data). Every other module of js/src imports them from here; the bundle
// evaluates this module first.

// On the page, w is the window; in the module's Worker (see worker.js),
// which runs the same script, it is the Worker's scope.
export var w = typeof window === "object" ? window : self;
// What the loader costs the page before its load event: its synchronous
// part is all of it (the module starts later). `make bench` reads it.
var perf = w.performance;
export var startedAt = perf && perf.now();

export var O = Object;
export var apply = Reflect.apply;
export var keysOf = O.keys;
export var protoOf = O.getPrototypeOf;
export var hasOwn = O.prototype.hasOwnProperty;
export var isArray = Array.isArray;
export var stringify = JSON.stringify;
export var parseJSON = JSON.parse;
export var P = w.Promise;
export var promiseThen = P.prototype.then;
export var nativeFetch = w.fetch;
export var now = Date.now;
export var mathTrunc = Math.trunc, mathFloor = Math.floor, mathAbs = Math.abs;
export var setT = w.setTimeout, setI = w.setInterval;
export var microtask = w.queueMicrotask;
export var Err = Error;
export var crypto = w.crypto;
export var randomValues = crypto && crypto.getRandomValues;
export var addListener = w.addEventListener;
export var NativeWorker = w.Worker;
export var ownForEach = Array.prototype.forEach;
export function then(p, ok, fail) { return apply(promiseThen, p, [ok, fail]); }
export function push(list, v) { list[list.length] = v; }
export function call(f, args) { return apply(f, null, args); }
export function listen(target, type, f, opts) { apply(addListener, target, [type, f, opts]); }
export function resolved() { return new P(function (res) { res(); }); }
