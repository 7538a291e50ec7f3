package web_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/web/browsertest"
)

// kindsEngine is the smallest Worker that runs the module and creates a
// tracker for each page that asks: as a dedicated Worker (one per page) and
// as a SharedWorker (one Go runtime for every page of the site that is open).
// It is served by the site itself: a SharedWorker is shared by its script's
// URL, and a blob: bootstrap, the only way to start the collector's script
// from another origin, has a URL of its own on every page.
const kindsEngine = `"use strict";
var factory = null;
function boot(collector) {
  if (!factory) factory = new Promise(function (res, rej) {
    importScripts(collector + "/wasm_exec.js");
    var go = new Go();
    WebAssembly.instantiateStreaming(fetch(collector + "/tracklet.wasm", {credentials: "omit"}), go.importObject)
      .then(function (r) { go.run(r.instance); res(self.__trackletWasm); }, rej);
  });
  return factory;
}
function serve(port) {
  port.onmessage = function (e) {
    boot(e.data.collector).then(function (f) {
      var api = f.create({trackingId: e.data.tid, endpoint: e.data.collector, storage: false, unload: false});
      port.postMessage(api instanceof Error ? api.message : "ready");
    }, function (err) { port.postMessage(String(err)); });
  };
}
if (typeof SharedWorkerGlobalScope !== "undefined" && self instanceof SharedWorkerGlobalScope) {
  onconnect = function (e) { serve(e.ports[0]); };
} else {
  serve(self);
}`

// kindsPage starts kindsEngine as kind ("dedicated" or "shared") and notes
// how long the module took to have a tracker ready for this page.
const kindsPage = `<!doctype html><html><head><meta charset="utf-8"><title>kinds</title><script>
window.readyIn = new Promise((resolve, reject) => {
  const t0 = performance.now();
  const w = %[1]q === "shared" ? new SharedWorker("/engine.js", {name: "tracklet"}) : new Worker("/engine.js");
  const port = w.port || w;
  port.onmessage = (e) => e.data === "ready" ? resolve(performance.now() - t0) : reject(new Error(e.data));
  if (w.port) port.start();
  port.postMessage({collector: %[2]q, tid: %[3]q});
});
</script></head><body><p>A page.</p></body></html>`

// BenchmarkWorkerKinds measures what issue 10 asks to choose by: the
// module's start-up in a dedicated Worker and in a SharedWorker, from a
// warm cache, for the first page of a visit, a second tab of the site
// opened while the first is open, and the next page of the same tab. The
// page's main thread does no module work in either.
//
//	<kind>-first-ms     Worker created → tracker ready, no Worker running
//	<kind>-tab-ms       the same in a second tab, the first one still open
//	<kind>-next-ms      the same after the first tab navigated to another page
//
// Run it with `go test -run='^$' -bench=WorkerKinds ./web/` after `make build`.
func BenchmarkWorkerKinds(b *testing.B) {
	ctx := browsertest.Browser(b)
	collector := browsertest.StartCollector(b, "--access-log=false")
	site := browsertest.NewSite(b)
	tid := collector.CreateTracker("kinds", site.URL)
	site.Handle("/engine.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Header().Set("Cache-Control", "max-age=3600")
		fmt.Fprint(w, kindsEngine)
	})
	kinds := []string{"dedicated", "shared"}
	pages := map[string][2]string{}
	for _, k := range kinds {
		pages[k] = [2]string{
			site.Page("/"+k, fmt.Sprintf(kindsPage, k, collector.URL, tid)),
			site.Page("/"+k+"/next", fmt.Sprintf(kindsPage, k, collector.URL, tid)),
		}
	}
	// A first visit fills the HTTP and code caches for both kinds.
	for _, k := range kinds {
		tab := browsertest.NewTab(b, ctx)
		browsertest.Do(b, tab, chromedp.Navigate(pages[k][0]))
		browsertest.Eval[float64](b, tab, `readyIn`)
		closeTab(b, tab)
	}
	sum := map[string]float64{}
	for b.Loop() {
		for _, k := range kinds {
			noWorkers(b, ctx) // a first page finds no Go runtime running
			first := browsertest.NewTab(b, ctx)
			browsertest.Do(b, first, chromedp.Navigate(pages[k][0]))
			sum[k+"-first-ms"] += browsertest.Eval[float64](b, first, `readyIn`)
			second := browsertest.NewTab(b, ctx)
			browsertest.Do(b, second, chromedp.Navigate(pages[k][0]))
			sum[k+"-tab-ms"] += browsertest.Eval[float64](b, second, `readyIn`)
			closeTab(b, second)
			browsertest.Do(b, first, chromedp.Navigate(pages[k][1]))
			sum[k+"-next-ms"] += browsertest.Eval[float64](b, first, `readyIn`)
			closeTab(b, first)
		}
	}
	for name, v := range sum {
		b.ReportMetric(v/float64(b.N), name)
	}
	b.ReportMetric(0, "ns/op")
}

// noWorkers waits until the browser of ctx runs no SharedWorker: one
// outlives its last page for a moment.
func noWorkers(b *testing.B, ctx context.Context) {
	b.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			b.Fatal(err)
		}
		running := 0
		for _, ti := range infos {
			if ti.Type == "shared_worker" {
				running++
			}
		}
		if running == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d SharedWorkers still run", running)
		}
		time.Sleep(50 * time.Millisecond) // a benchmark's settling poll, bounded by the deadline
	}
}

// closeTab closes a tab for good: one navigated away stays in the
// back/forward cache, and keeps its SharedWorker running.
func closeTab(b *testing.B, tab context.Context) {
	b.Helper()
	must(b, chromedp.Do(tab, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.Close, cdp.Empty{})
		return err
	})))
}
