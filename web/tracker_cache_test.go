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
	// A first event, sent and answered, has the module's Worker running
	// (it loads tracklet.js again, from the cache, and the module) and the
	// glue loaded on the page for buildEvent too. The Worker sends the
	// events itself: no tracklet-sender.js.
	first1 := browsertest.Eval[string](t, ctx, `(async () => { await tracklet.ready; const id = await tracklet.track("FirstPage"); await tracklet.flush(); return id; })()`)
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
	id := browsertest.Eval[string](t, ctx, `(async () => { await tracklet.ready; const id = await tracklet.track("SecondPage", {}); await tracklet.flush(); return id; })()`)
	if fetched, _ := assets.Requests(); len(fetched) != 0 {
		t.Errorf("the repeat visit fetched %v, want nothing", fetched)
	}
	waitStored(t, ctx, collector, tid, []string{first1, id}, 10*time.Second)
}
