// Identifiers and privacy: the loader's eventIds and sessions, the
// browser's privacy signals, and its settings read from data- attributes.

import { w, apply, now, mathFloor, crypto, randomValues } from "./natives.js";

var lastMs = 0, seq = 0, pool = null, poolAt = 64; // newID's state
var hexByte = [];
for (var hb = 0; hb < 256; hb++) hexByte[hb] = (hb < 16 ? "0" : "") + hb.toString(16);

// newID returns a UUIDv7, as the module makes them: 48 bits of epoch
// milliseconds, 12 bits of a counter within the millisecond (so that
// ids sort in call order) and 62 random bits.
export function newID() {
  var ms = now();
  if (ms <= lastMs) {
    ms = lastMs;
    if (++seq > 0xfff) { seq = 0; ms = ++lastMs; }
  } else {
    seq = 0;
    lastMs = ms;
  }
  if (poolAt >= 64) {
    pool = new Uint8Array(64 * 8);
    if (randomValues) apply(randomValues, crypto, [pool]);
    else for (var r = 0; r < pool.length; r++) pool[r] = mathFloor(Math.random() * 256);
    poolAt = 0;
  }
  var hi = mathFloor(ms / 0x10000), lo = ms % 0x10000;
  var o = poolAt++ * 8;
  return hexByte[(hi >>> 24) & 0xff] + hexByte[(hi >>> 16) & 0xff] + hexByte[(hi >>> 8) & 0xff] + hexByte[hi & 0xff] +
    "-" + hexByte[lo >>> 8] + hexByte[lo & 0xff] +
    "-" + hexByte[0x70 | (seq >>> 8)] + hexByte[seq & 0xff] +
    "-" + hexByte[0x80 | (pool[o] & 0x3f)] + hexByte[pool[o + 1]] +
    "-" + hexByte[pool[o + 2]] + hexByte[pool[o + 3]] + hexByte[pool[o + 4]] + hexByte[pool[o + 5]] + hexByte[pool[o + 6]] + hexByte[pool[o + 7]];
}

// privacySignal reports whether the browser sends Global Privacy Control
// or Do Not Track, which data-respect-gpc makes an opt-out.
export function privacySignal() {
  var nav = w.navigator || {};
  return nav.globalPrivacyControl === true || nav.doNotTrack === "1" || w.doNotTrack === "1";
}

// flag reads a setting that may be a data- attribute's string.
export function flag(v, def) {
  if (v == null) return def;
  if (typeof v === "boolean") return v;
  var s = ("" + v).toLowerCase();
  if (s === "false" || s === "0" || s === "no" || s === "off") return false;
  return true;
}
