/*
 * Tracklet's sending Worker: the module (tracklet.wasm) hands it request
 * bodies and it gzips and posts them off the page's main thread. It is
 * served from the collector under a content-hashed name and started from
 * a one-line blob: bootstrap that imports it (a Worker script must be
 * same-origin with the page). See wasm/sender.go.
 *
 * A message is {id, url, body (a string, encoded to UTF-8 here), gzip}:
 * gzip asks for compression, which the Worker then notes in the url, where
 * it has CompressionStream. Answers are strings, for the module to read in
 * one call: "ok <id> <id>..." and "failed [id, status, error, retryAfter,
 * text]" (status 0: a network error).
 */
"use strict";
var canGzip = typeof CompressionStream === "function";
onmessage = function (e) {
  var m = e.data;
  var gzip = m.gzip && canGzip;
  var body = gzip ? compress(new TextEncoder().encode(m.body)) : Promise.resolve(m.body);
  body.then(function (b) {
    return fetch(gzip ? m.url + "&encoding=gzip" : m.url, {method: "POST", body: b, headers: {"Content-Type": "text/plain;charset=UTF-8"}, credentials: "omit", mode: "cors"});
  }).then(function (resp) {
    if (resp.ok) return answer(m.id, 0);
    return resp.text().catch(function () { return ""; }).then(function (text) {
      answer(m.id, [m.id, resp.status, "", resp.headers.get("Retry-After") || "", text]);
    });
  }).catch(function (err) {
    answer(m.id, [m.id, 0, String(err && err.message || err), "", ""]);
  });
};
// answer sends the successes that come in within one turn of the event
// loop as one message: each message costs the page's main thread a task
// and a call into Go, and during a burst the collector answers several
// requests at once. Failures, rare, go one a message.
var ok = [], scheduled = false;
function answer(id, failure) {
  if (failure) return postMessage("failed " + JSON.stringify(failure));
  ok.push(id);
  if (scheduled) return;
  scheduled = true;
  setTimeout(function () {
    var msg = "ok " + ok.join(" ");
    ok = [];
    scheduled = false;
    postMessage(msg);
  }, 0);
}
// compress gzips bytes. Writing them into the stream directly costs a
// tenth of a Blob's stream(), which goes through the browser's blob store.
function compress(bytes) {
  var cs = new CompressionStream("gzip");
  var w = cs.writable.getWriter();
  w.write(bytes).catch(function () {});
  w.close().catch(function () {});
  return new Response(cs.readable).arrayBuffer();
}
postMessage("hello");
