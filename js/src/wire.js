// The wire form of the events the loader sends itself, when the page is
// left before the module has taken them (see "Leaving the page" in
// page.js).

import { keysOf, mathTrunc, mathFloor, mathAbs } from "./natives.js";

// eventJSON writes the PutEvents event the module builds for the same
// call, byte for byte (web/tracker_unload_test.go holds it to the
// module's): the members in the order of event.Event, strings as
// encoding/json quotes them, properties as event.EncodeProperties
// writes them, sentAt as event.Timestamp does. It is used only for
// calls whose arguments are plain (see plainArgs); the collector's
// validation judges the result, as it judges the module's.
export function eventJSON(eventType, props, opts, at) {
  var b = '{"eventId":' + goString(opts.eventId) + ',"eventType":' + goString(eventType == null ? "" : eventType);
  if (opts.eventValue != null) b += ',"eventValue":' + String(opts.eventValue);
  if (opts.itemId != null) b += ',"itemId":' + goString(opts.itemId);
  if (opts.impression != null) { // an empty list is the collector's to refuse, as the module does
    b += ',"impression":[';
    for (var i = 0; i < opts.impression.length; i++) b += (i ? "," : "") + goString(opts.impression[i]);
    b += "]";
  }
  if (opts.recommendationId != null) b += ',"recommendationId":' + goString(opts.recommendationId);
  if (opts.metricAttribution != null) b += ',"metricAttribution":{"eventAttributionSource":' + goString(opts.metricAttribution) + "}";
  var ks = props == null ? [] : keysOf(props);
  if (ks.length) {
    ks.sort();
    var p = "{";
    for (var j = 0; j < ks.length; j++) {
      var v = props[ks[j]];
      p += (j ? "," : "") + goString(ks[j]) + ":" + (typeof v === "string" ? goString(v) : typeof v === "number" ? goFloat(v) : String(v));
    }
    b += ',"properties":' + goString(p + "}");
  }
  return b + ',"sentAt":' + seconds(opts.sentAt != null ? opts.sentAt : at) + "}";
}

export function requestJSON(trackingId, sessionId, userId, events) {
  var b = '{"trackingId":' + goString(trackingId) + ',"sessionId":' + goString(sessionId);
  if (userId) b += ',"userId":' + goString(userId);
  return b + ',"eventList":[' + events.join(",") + "]}";
}

// goString quotes s as encoding/json does: <, > and & escaped, as are
// U+2028 and U+2029, and a lone surrogate (which Go receives as U+FFFD).
function goString(s) {
  var out = '"';
  for (var i = 0; i < s.length; i++) {
    var c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      var next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += s.charAt(i) + s.charAt(i + 1);
        i++;
      } else {
        out += "\ufffd";
      }
      continue;
    }
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26 && c !== 0x2028 && c !== 0x2029) {
      out += s.charAt(i);
      continue;
    }
    switch (c) {
      case 0x22: out += '\\"'; break;
      case 0x5c: out += "\\\\"; break;
      case 0x08: out += "\\b"; break;
      case 0x0c: out += "\\f"; break;
      case 0x0a: out += "\\n"; break;
      case 0x0d: out += "\\r"; break;
      case 0x09: out += "\\t"; break;
      default: out += "\\u" + ("000" + c.toString(16)).slice(-4);
    }
  }
  return out + '"';
}

// goFloat writes a property's number as strconv.FormatFloat(v, 'g', -1,
// 64) does in event.EncodeProperties: the shortest digits that read
// back as v, in exponent form (at least two exponent digits) when the
// exponent is below -4 or from 6 on: 1e+06, 1.5e-05, 123456.
function goFloat(v) {
  if (v === 0) return "0";
  var e = v.toExponential(); // the shortest digits, as Go's
  var neg = e.charAt(0) === "-";
  if (neg) e = e.slice(1);
  var at = e.indexOf("e");
  var digits = e.charAt(0) + (at > 1 ? e.slice(2, at) : "");
  var exp = +e.slice(at + 1);
  var nd = digits.length;
  var s;
  if (exp < -4 || exp >= 6) {
    var ax = mathAbs(exp);
    s = digits.charAt(0) + (nd > 1 ? "." + digits.slice(1) : "") + "e" + (exp < 0 ? "-" : "+") + (ax < 10 ? "0" : "") + ax;
  } else if (exp < 0) {
    s = "0." + "0000".slice(0, -exp - 1) + digits;
  } else if (nd <= exp + 1) {
    s = digits + "000000".slice(0, exp + 1 - nd);
  } else {
    s = digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
  }
  return (neg ? "-" : "") + s;
}

// seconds writes epoch milliseconds as event.Timestamp does: whole
// milliseconds, as seconds with up to three decimals.
function seconds(ms) {
  ms = mathTrunc(ms);
  if (ms > 0 && ms < 1e15) {
    var s = "" + mathFloor(ms / 1000);
    var frac = ms % 1000;
    if (!frac) return s;
    return s + "." + ("00" + frac).slice(-3).replace(/0+$/, "");
  }
  return String(ms / 1000);
}
