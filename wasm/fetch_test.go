//go:build js && wasm

package main

import (
	"strings"
	"syscall/js"
	"testing"

	"github.com/tracklet/tracklet/event"
)

// nodeCollector is a real HTTP server in the Node process running the
// tests, standing in for the collector: it records each request and
// answers with the next status of its script (200 when it runs out).
type nodeCollector struct {
	v   js.Value
	url string
}

const nodeServerJS = `(function () {
	const http = require("http");
	const s = { requests: [], statuses: [] };
	s.server = http.createServer((req, res) => {
		let body = "";
		req.setEncoding("utf8");
		req.on("data", (c) => { body += c; });
		req.on("end", () => {
			s.requests.push({ method: req.method, url: req.url, contentType: req.headers["content-type"] || "", body });
			const status = s.statuses.length ? s.statuses.shift() : 200;
			res.writeHead(status, { "Content-Type": "application/json", "Retry-After": "3" });
			res.end(status === 200 ? "{}" : JSON.stringify({ message: "refused with " + status }));
		});
	});
	s.listen = () => new Promise((resolve) => s.server.listen(0, "127.0.0.1", () => resolve(s.server.address().port)));
	s.close = () => { s.server.closeAllConnections(); s.server.close(); };
	return s;
})()`

func startNodeCollector(t *testing.T, statuses ...int) *nodeCollector {
	t.Helper()
	v := jsEval(nodeServerJS)
	for _, s := range statuses {
		v.Get("statuses").Call("push", s)
	}
	port, err := await(v.Call("listen"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Call("close") })
	return &nodeCollector{v: v, url: "http://127.0.0.1:" + js.Global().Call("String", port).String()}
}

// requests returns what the server received, decoded as the collector would.
func (c *nodeCollector) requests(t *testing.T) []*event.Request {
	t.Helper()
	rs := c.v.Get("requests")
	var out []*event.Request
	for i := 0; i < rs.Length(); i++ {
		r := rs.Index(i)
		if m, u, ct := r.Get("method").String(), r.Get("url").String(), r.Get("contentType").String(); m != "POST" || u != "/events" || ct != "text/plain;charset=UTF-8" {
			t.Errorf("request %d: %s %s, Content-Type %q", i, m, u, ct)
		}
		req, err := event.DecodeRequest([]byte(r.Get("body").String()))
		if err != nil {
			t.Fatalf("request %d does not decode: %v", i, err)
		}
		if err := req.Validate(); err != nil {
			t.Errorf("request %d is invalid: %v", i, err)
		}
		out = append(out, req)
	}
	return out
}

func flush(t *testing.T, api js.Value) (sent, failed int) {
	t.Helper()
	v, err := await(api.Call("flush"))
	if err != nil {
		t.Fatal(err)
	}
	return v.Get("sent").Int(), v.Get("failed").Int()
}

type stats struct{ queued, sent, failed, dropped int }

func statsOf(api js.Value) stats {
	s := api.Call("stats")
	return stats{s.Get("queued").Int(), s.Get("sent").Int(), s.Get("failed").Int(), s.Get("dropped").Int()}
}

func TestFlushPostsBatchesToTheCollector(t *testing.T) {
	c := startNodeCollector(t)
	// A trailing slash on the endpoint must not double the one before "events".
	api := create(t, map[string]any{"endpoint": c.url + "/", "batchSize": 10, "flushInterval": 60000})
	var ids []string
	for i := 0; i < 7; i++ {
		if i == 4 {
			api.Call("identify", "alice")
		}
		id, err := await(api.Call("track", "Click", jsEval(`{n: `+string(rune('0'+i))+`}`)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id.String())
	}
	if sent, failed := flush(t, api); sent != 7 || failed != 0 {
		t.Errorf("flush = {sent %d, failed %d}, want {7, 0}", sent, failed)
	}
	reqs := c.requests(t)
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (before and after identify)", len(reqs))
	}
	if reqs[0].UserID != nil || reqs[1].UserID == nil || *reqs[1].UserID != "alice" || reqs[0].TrackingID != "tid-1" {
		t.Errorf("envelopes: %+v / %+v", reqs[0], reqs[1])
	}
	var got []string
	for _, r := range reqs {
		for _, e := range r.EventList {
			got = append(got, *e.EventID)
		}
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Errorf("events arrived as %v, tracked as %v", got, ids)
	}
	if s := statsOf(api); s != (stats{sent: 7}) {
		t.Errorf("stats = %+v", s)
	}
}

func TestBatchSizeFlushHappensByItself(t *testing.T) {
	c := startNodeCollector(t)
	api := create(t, map[string]any{"endpoint": c.url, "batchSize": 3, "flushInterval": 60000})
	for i := 0; i < 3; i++ {
		if _, err := await(api.Call("track", "View")); err != nil {
			t.Fatal(err)
		}
	}
	// The flush started by the third event is already under way; an
	// explicit one waits for it and finds nothing left.
	flush(t, api)
	if reqs := c.requests(t); len(reqs) != 1 || len(reqs[0].EventList) != 3 {
		t.Fatalf("requests = %d, want one of 3 events", len(reqs))
	}
}

func TestFailedSendsKeepOrDropEvents(t *testing.T) {
	c := startNodeCollector(t, 503, 400)
	api := create(t, map[string]any{"endpoint": c.url, "flushInterval": 60000})
	await(api.Call("track", "A"))
	// 503: may pass later, so the event stays queued.
	if sent, failed := flush(t, api); sent != 0 || failed != 1 {
		t.Errorf("flush on 503 = {%d, %d}", sent, failed)
	}
	if s := statsOf(api); s != (stats{queued: 1, failed: 1}) {
		t.Errorf("after 503: %+v", s)
	}
	// 400: the collector will never take it; dropped.
	if sent, failed := flush(t, api); sent != 0 || failed != 1 {
		t.Errorf("flush on 400 = {%d, %d}", sent, failed)
	}
	if s := statsOf(api); s != (stats{failed: 2, dropped: 1}) {
		t.Errorf("after 400: %+v", s)
	}
	await(api.Call("track", "B"))
	if sent, _ := flush(t, api); sent != 1 {
		t.Errorf("flush after recovery sent %d", sent)
	}
	if n := len(c.requests(t)); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestNetworkErrorKeepsEvents(t *testing.T) {
	api := create(t, map[string]any{"endpoint": "http://127.0.0.1:1", "flushInterval": 60000})
	await(api.Call("track", "A"))
	if sent, failed := flush(t, api); sent != 0 || failed != 1 {
		t.Errorf("flush = {%d, %d}", sent, failed)
	}
	if s := statsOf(api); s.queued != 1 {
		t.Errorf("stats = %+v", s)
	}
}
