//go:build js && wasm

package main

import (
	"strings"
	"syscall/js"
	"testing"
	"time"

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
	const zlib = require("zlib");
	const s = { requests: [], statuses: [] };
	s.server = http.createServer((req, res) => {
		const chunks = [];
		req.on("data", (c) => { chunks.push(c); });
		req.on("end", () => {
			const url = new URL(req.url, "http://x");
			let raw = Buffer.concat(chunks);
			const gzip = url.searchParams.get("encoding") === "gzip";
			if (gzip) raw = zlib.gunzipSync(raw);
			s.requests.push({ method: req.method, path: url.pathname, sentAt: Number(url.searchParams.get("sentAt")),
				gzip, size: Buffer.concat(chunks).length, contentType: req.headers["content-type"] || "",
				preflightHeaders: Object.keys(req.headers).filter((h) => !["host", "connection", "content-type", "content-length",
					"accept", "accept-language", "accept-encoding", "sec-fetch-mode", "user-agent", "origin"].includes(h)).join(","),
				body: raw.toString("utf8") });
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
		if m, u, ct := r.Get("method").String(), r.Get("path").String(), r.Get("contentType").String(); m != "POST" || u != "/events" || ct != "text/plain;charset=UTF-8" {
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
		id, err := trackJS(api, "Click", jsEval(`{n: `+string(rune('0'+i))+`}`))
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
		if _, err := trackJS(api, "View"); err != nil {
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
	api := create(t, map[string]any{"endpoint": c.url, "flushInterval": 60000, "retryBase": 60000})
	trackJS(api, "A")
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
	trackJS(api, "B")
	if sent, _ := flush(t, api); sent != 1 {
		t.Errorf("flush after recovery sent %d", sent)
	}
	if n := len(c.requests(t)); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestNetworkErrorKeepsEvents(t *testing.T) {
	api := create(t, map[string]any{"endpoint": "http://127.0.0.1:1", "flushInterval": 60000})
	trackJS(api, "A")
	if sent, failed := flush(t, api); sent != 0 || failed != 1 {
		t.Errorf("flush = {%d, %d}", sent, failed)
	}
	if s := statsOf(api); s.queued != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestRequestsCarrySendTimeAndBigOnesAreGzipped(t *testing.T) {
	c := startNodeCollector(t)
	api := create(t, map[string]any{"endpoint": c.url, "flushInterval": 60000})
	before := time.Now().UnixMilli()
	trackJS(api, "Small")
	flush(t, api)
	for i := 0; i < 10; i++ {
		trackJS(api, "Big", jsEval(`{text: "`+strings.Repeat("lorem ipsum ", 20)+`"}`))
	}
	flush(t, api)
	after := time.Now().UnixMilli()
	reqs := c.requests(t) // decodes the gunzipped bodies
	if len(reqs) != 2 || len(reqs[1].EventList) != 10 {
		t.Fatalf("%d requests", len(reqs))
	}
	raw := c.v.Get("requests")
	small, big := raw.Index(0), raw.Index(1)
	for _, r := range []js.Value{small, big} {
		if ms := int64(r.Get("sentAt").Float()); ms < before || ms > after {
			t.Errorf("sentAt query %d not within [%d, %d]", ms, before, after)
		}
		if h := r.Get("preflightHeaders").String(); h != "" {
			t.Errorf("non-simple headers %q would force a CORS preflight", h)
		}
	}
	if small.Get("gzip").Bool() {
		t.Error("a tiny body was gzipped")
	}
	if !big.Get("gzip").Bool() {
		t.Error("a big body was not gzipped")
	} else if size := big.Get("size").Int(); size*3 > len(big.Get("body").String()) {
		t.Errorf("gzip: %d bytes for %d of JSON", size, len(big.Get("body").String()))
	}
}

func TestListenersHearDeliveriesFailuresAndDrops(t *testing.T) {
	c := startNodeCollector(t, 503, 400)
	api := create(t, map[string]any{"endpoint": c.url, "flushInterval": 60000, "retryBase": 60000})
	heard := jsEval(`[]`)
	for _, kind := range []string{"sent", "error", "dropped"} {
		api.Call("on", kind, jsEval(`(info) => { globalThis.__heard.push(info); }`))
	}
	js.Global().Set("__heard", heard)
	if got := api.Call("on", "delivered", jsEval(`() => {}`)); !isError(got) {
		t.Error("unknown kind accepted")
	}
	id, _ := trackJS(api, "A")
	flush(t, api) // 503
	flush(t, api) // 400
	trackJS(api, "B")
	flush(t, api)                                          // 200
	await(jsEval(`new Promise((r) => setTimeout(r, 20))`)) // listeners run in tasks of their own
	var got []string
	for i := 0; i < heard.Length(); i++ {
		n := heard.Index(i)
		line := n.Get("type").String() + " " + n.Get("eventIds").Call("join").String()
		if e := n.Get("error"); !e.IsUndefined() {
			line += " " + e.String()
		}
		if r := n.Get("retryIn"); !r.IsUndefined() {
			line += " retryIn>=0:" + js.Global().Call("String", r.Float() >= 0).String()
		}
		got = append(got, line)
	}
	want := []string{
		"error " + id.String() + " collector answered 503: refused with 503 retryIn>=0:true",
		"dropped " + id.String() + " collector answered 400: refused with 400",
	}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || !strings.HasPrefix(got[2], "sent ") {
		t.Errorf("listeners heard\n%s\nwant\n%s\nsent ...", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if heard.Length() != 3 {
		t.Errorf("%d notices, want 3", heard.Length())
	}
}

func TestConsentPendingGrantedAndOptOut(t *testing.T) {
	c := startNodeCollector(t)
	api := create(t, map[string]any{"endpoint": c.url, "consent": "pending", "flushInterval": 60000})
	id, err := trackJS(api, "A")
	if err != nil || id.Type() != js.TypeString {
		t.Fatalf("track while pending: %v %v", id, err)
	}
	if sent, _ := flush(t, api); sent != 0 || len(c.requests(t)) != 0 {
		t.Fatal("sent before consent")
	}
	api.Call("consent", true)
	if sent, _ := flush(t, api); sent != 1 {
		t.Errorf("after consent sent %d", sent)
	}
	api.Call("optOut")
	if v, err := trackJS(api, "B"); err != nil || !v.IsNull() {
		t.Errorf("track after optOut = %v, %v; want null", v, err)
	}
	if s := api.Call("consentState").String(); s != "denied" {
		t.Errorf("consentState = %s", s)
	}
}
