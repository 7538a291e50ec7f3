package js_test

// Headless Chromium tests of the loader, tracklet.js, with the real wasm
// module: the page and the assets are on different origins, as on a real
// site. The end-to-end path into the collector's store is tested in web/.

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracklet/tracklet/web/browsertest"

	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/event"
	trackassets "github.com/tracklet/tracklet/server/assets"
)

// dist is the module `make build` put in web/dist, with the build flags
// users get (the Makefile is their one home), checked to be built from
// this tree.
func dist(t *testing.T) string {
	t.Helper()
	return browsertest.DistDir(t)
}

// assets is the collector's side: it serves the loader and module under
// /static/ and records POST /events, answering CORS as a collector must.
type assets struct {
	*httptest.Server
	wasmType string        // Content-Type of tracklet.wasm
	gate     chan struct{} // tracklet.wasm is served once this is closed
	status   atomic.Int32  // answer to POST /events when not 0

	mu      sync.Mutex
	reqs    []*event.Request
	cts     []string
	fetched []string // names under /static/, in order
}

func newAssets(t *testing.T, wasmType string) *assets {
	dir := dist(t)
	a := &assets{wasmType: wasmType, gate: make(chan struct{})}
	close(a.gate)
	mux := http.NewServeMux()
	mux.HandleFunc("/static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		a.mu.Lock()
		a.fetched = append(a.fetched, name)
		a.mu.Unlock()
		b, err := os.ReadFile(filepath.Join(dir, filepath.Base(name)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		switch {
		case strings.HasSuffix(name, ".wasm"):
			<-a.gate
			w.Header().Set("Content-Type", a.wasmType)
		case strings.HasSuffix(name, ".js"), strings.HasSuffix(name, ".mjs"):
			w.Header().Set("Content-Type", "text/javascript")
		}
		w.Write(b)
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method != http.MethodPost {
			// A preflight would be a failure of the text/plain design.
			t.Errorf("%s /events: only simple POSTs are expected", r.Method)
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if st := int(a.status.Load()); st != 0 {
			w.WriteHeader(st)
			io.WriteString(w, `{"message":"unavailable"}`)
			return
		}
		var body []byte
		if r.URL.Query().Get("encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Errorf("bad gzip: %v", err)
				return
			}
			body, _ = io.ReadAll(zr)
		} else {
			body, _ = io.ReadAll(r.Body)
		}
		if r.URL.Query().Get("sentAt") == "" {
			t.Errorf("request without ?sentAt")
		}
		req, err := event.DecodeRequest(body)
		if err == nil {
			err = req.Validate()
		}
		if err != nil {
			t.Errorf("invalid request %s: %v", body, err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.reqs = append(a.reqs, req)
		a.cts = append(a.cts, r.Header.Get("Content-Type"))
		a.mu.Unlock()
		w.Write([]byte("{}"))
	})
	a.Server = httptest.NewServer(mux)
	t.Cleanup(a.Close)
	return a
}

// checkFetchedTheBuild fails unless the page fetched the module by the
// hashed name web/dist's manifest gives it, and nothing the manifest does
// not list: the loader under test is the one `make build` rewrote.
func (a *assets) checkFetchedTheBuild(t *testing.T) {
	t.Helper()
	m, err := trackassets.ReadManifest(os.DirFS(dist(t)))
	if err != nil {
		t.Fatal(err)
	}
	wasm, _ := m.Lookup("tracklet.wasm")
	a.mu.Lock()
	defer a.mu.Unlock()
	if !slices.Contains(a.fetched, wasm.Path) {
		t.Errorf("the page fetched %v, not the module's hashed name %s", a.fetched, wasm.Path)
	}
	for _, name := range a.fetched {
		if !slices.Contains(m.Files(), name) || strings.HasSuffix(name, ".br") || strings.HasSuffix(name, ".gz") {
			t.Errorf("the page fetched %s, which is not an asset of the build", name)
		}
	}
}

func (a *assets) requests() []*event.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*event.Request(nil), a.reqs...)
}

// page serves html from an origin of its own.
func page(t *testing.T, html string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, html)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

func browser(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(browsertest.Browser(t), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// evaluate runs expr in the page, awaiting it if it is a Promise, and
// decodes its JSON value into out.
func evaluate[T any](ctx context.Context, expr string, out *T) error {
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	*out = v
	return err
}

// snippet is the README's line that queues calls before tracklet.js runs.
const snippet = `<script>window.tracklet=window.tracklet||{q:[]};["init","track","identify","reset","flush","consent","optIn","optOut","on"].forEach(function(m){window.tracklet[m]=window.tracklet[m]||function(){window.tracklet.q.push([m,arguments])}})</script>`

func TestLoaderQueuesReplaysAndSends(t *testing.T) {
	for _, wasmType := range []string{"application/wasm", "application/octet-stream"} {
		t.Run(wasmType, func(t *testing.T) {
			a := newAssets(t, wasmType)
			url := page(t, `<!doctype html><html><head>`+snippet+`
<script>tracklet.track("Early", {n: 1}); tracklet.track(""); tracklet.identify("alice");</script>
<script async src="`+a.URL+`/static/tracklet.js" data-tracking-id="tid-1" data-flush-interval="60000"></script>
</head><body>hello</body></html>`)
			// Hold the module back so that calls are made while the
			// loader is installed but the module is not running.
			a.gate = make(chan struct{})
			ctx := browser(t)
			if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
				t.Fatal(err)
			}
			var queued int
			if err := evaluate(ctx, `(async () => {
				while (!tracklet.ready) await new Promise((r) => setTimeout(r, 5));
				window.beforeReady = tracklet.track("BeforeReady", {n: 2}, {sentAt: new Date(1714979289123)});
				return tracklet.stats().queued;
			})()`, &queued); err != nil {
				t.Fatal(err)
			}
			if queued != 3 { // Early, the invalid "" and BeforeReady
				t.Errorf("stats().queued before ready = %d, want 3", queued)
			}
			close(a.gate)
			var got struct {
				BeforeID  string         `json:"beforeId"`
				AfterID   string         `json:"afterId"`
				Invalid   string         `json:"invalid"`
				BuildErr  string         `json:"buildErr"`
				Built     map[string]any `json:"built"`
				Validate  any            `json:"validate"`
				Flush     map[string]int `json:"flush"`
				Stats     map[string]int `json:"stats"`
				SameReady bool           `json:"sameReady"`
			}
			err := evaluate(ctx, `(async () => {
				// The loader's own object stays window.tracklet.
				const t = await tracklet.ready;
				const r = {sameReady: t === window.tracklet};
				r.beforeId = await beforeReady;
				r.afterId = await tracklet.track("After", {n: 3}, {itemId: "movie1", eventValue: 4.5});
				r.invalid = await tracklet.track("X", {bad_key: 1}).then(() => "resolved", (e) => e.message);
				try { tracklet.buildEvent(""); r.buildErr = "no throw"; } catch (e) { r.buildErr = e.message; }
				r.built = tracklet.buildEvent("Built", {a: "b"});
				r.validate = tracklet.validate({eventType: "E"});
				r.flush = await tracklet.flush();
				r.stats = tracklet.stats();
				return r;
			})()`, &got)
			if err != nil {
				t.Fatal(err)
			}
			if !got.SameReady {
				t.Error("tracklet.ready did not resolve to window.tracklet")
			}
			if got.Invalid != `properties: key "bad_key" is not camelCase` {
				t.Errorf("invalid track rejected with %q", got.Invalid)
			}
			if got.BuildErr != "eventType: missing or empty" {
				t.Errorf("buildEvent threw %q", got.BuildErr)
			}
			if got.Built["eventType"] != "Built" || got.Built["properties"] != `{"a":"b"}` {
				t.Errorf("buildEvent = %v", got.Built)
			}
			if got.Validate != "sentAt: missing or empty" {
				t.Errorf("validate = %v", got.Validate)
			}
			if got.Flush["sent"] != 3 || got.Flush["failed"] != 0 {
				t.Errorf("flush = %v", got.Flush)
			}
			if got.Stats["sent"] != 3 || got.Stats["queued"] != 0 {
				t.Errorf("stats = %v", got.Stats)
			}

			// Every valid call arrived once, in order; identify (queued
			// by the snippet) applied to the calls after it. Requests of
			// one flush travel at once (maxInFlight) and may arrive in
			// any order, so the order is that of the eventIds, UUIDv7s
			// made as the calls were tracked.
			type arrived struct {
				ev   event.Event
				user string
			}
			var all []arrived
			for _, r := range a.requests() {
				for _, e := range r.EventList {
					u := ""
					if r.UserID != nil {
						u = *r.UserID
					}
					all = append(all, arrived{e, u})
				}
			}
			slices.SortStableFunc(all, func(x, y arrived) int { return strings.Compare(*x.ev.EventID, *y.ev.EventID) })
			var types, users []string
			var events []event.Event
			for _, x := range all {
				types = append(types, x.ev.EventType)
				users = append(users, x.user)
				events = append(events, x.ev)
			}
			if strings.Join(types, ",") != "Early,BeforeReady,After" {
				t.Fatalf("events arrived as %v", types)
			}
			if strings.Join(users, ",") != ",alice,alice" {
				t.Errorf("users = %v", users)
			}
			if *events[1].EventID != got.BeforeID || *events[2].EventID != got.AfterID {
				t.Errorf("resolved ids %s, %s do not match the sent events", got.BeforeID, got.AfterID)
			}
			if events[1].SentAt.UnixMilli() != 1714979289123 {
				t.Errorf("sentAt from a Date = %v", events[1].SentAt)
			}
			if *events[2].ItemID != "movie1" || *events[2].EventValue != 4.5 || *events[2].Properties != `{"n":3}` {
				t.Errorf("After event = %+v", events[2])
			}
			for _, ct := range a.cts {
				if ct != "text/plain;charset=UTF-8" {
					t.Errorf("Content-Type %q", ct)
				}
			}
			a.checkFetchedTheBuild(t)
		})
	}
}

func TestLoaderDataEndpointAndFailure(t *testing.T) {
	a := newAssets(t, "application/wasm")
	other := newAssets(t, "application/wasm") // the configured endpoint
	url := page(t, `<!doctype html><script async src="`+a.URL+`/static/tracklet.js" data-tracking-id="tid-2" data-endpoint="`+other.URL+`/"></script>`)
	ctx := browser(t)
	var sent int
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	if err := evaluate(ctx, `(async () => { await tracklet.ready; await tracklet.track("E"); return (await tracklet.flush()).sent; })()`, &sent); err != nil {
		t.Fatal(err)
	}
	if sent != 1 || len(other.requests()) != 1 || len(a.requests()) != 0 {
		t.Errorf("sent %d: %d requests to data-endpoint, %d to the script's origin", sent, len(other.requests()), len(a.requests()))
	}
	if r := other.requests(); len(r) == 1 && r[0].TrackingID != "tid-2" {
		t.Errorf("trackingId = %q", r[0].TrackingID)
	}

	// Without data-tracking-id the loader waits for init(); an init
	// without a tracking id makes ready reject, saying why.
	bad := page(t, `<!doctype html><script async src="`+a.URL+`/static/tracklet.js"></script>`)
	var msgs []string
	if err := chromedp.Do(ctx, chromedp.Navigate(bad)); err != nil {
		t.Fatal(err)
	}
	if err := evaluate(ctx, `(async () => {
		while (!window.tracklet || !tracklet.ready) await new Promise((r) => setTimeout(r, 10));
		let settled = "no";
		tracklet.ready.then(() => { settled = "yes"; }, () => { settled = "yes"; });
		await new Promise((r) => setTimeout(r, 300));
		const before = settled;
		tracklet.init({batchSize: 3});
		return [before, await tracklet.ready.then(() => "resolved", (e) => e.message)];
	})()`, &msgs); err != nil {
		t.Fatal(err)
	}
	if len(msgs) == 2 && msgs[0] != "no" {
		t.Error("ready settled before init")
	}
	msgs = msgs[1:]
	if want := "tracklet: trackingId: missing or empty"; len(msgs) != 1 || msgs[0] != want {
		t.Errorf("ready = %v, want rejection %q", msgs, want)
	}
}
