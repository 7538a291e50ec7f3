package web_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/web/browsertest"
)

// A repeat visit downloads nothing of the tracker: tracklet.js is fresh for
// five minutes and the files it names are immutable, so the next page of the
// site starts the tracker from the browser's cache alone.
func TestTrackerRepeatVisitDownloadsNothing(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	assets := browsertest.NewProxy(t, collector.URL) // counts what the browser fetches
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("cache", site.URL)
	first := site.Page("/", trackerPage(assets.URL, tid, collector.URL, "", ""))
	second := site.Page("/next", trackerPage(assets.URL, tid, collector.URL, "", ""))

	browsertest.Do(t, ctx, chromedp.Navigate(first))
	browsertest.Eval[bool](t, ctx, `tracklet.ready.then(() => true)`)
	fetched, _ := assets.Requests()
	hashed := regexp.MustCompile(`^GET /(tracklet\.[0-9a-f]{16}\.wasm|wasm_exec\.[0-9a-f]{16}\.js)$`)
	for route, n := range fetched {
		if n != 1 || route != "GET /tracklet.js" && !hashed.MatchString(route) {
			t.Errorf("first visit: %s %d times", route, n)
		}
	}
	if len(fetched) != 3 {
		t.Fatalf("first visit fetched %v, want tracklet.js, wasm_exec.<hash>.js and tracklet.<hash>.wasm", fetched)
	}

	assets.Reset()
	browsertest.Do(t, ctx, chromedp.Navigate(second))
	id := browsertest.Eval[string](t, ctx, `tracklet.ready.then(() => tracklet.track("SecondPage", {}))`)
	if fetched, _ := assets.Requests(); len(fetched) != 0 {
		t.Errorf("the repeat visit fetched %v, want nothing", fetched)
	}
	waitStored(t, ctx, collector, tid, []string{id}, 10*time.Second)
}
