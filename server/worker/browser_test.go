//go:build !js

package worker_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/tracklet/tracklet/web/browsertest"

	"github.com/chromedp/chromedp"
)

// TestBrowserDeliversToWorker loads the tracker the way a site would, with
// one script tag pointing at the worker (which serves tracklet.js and the
// wasm as static assets), and checks that what the page tracks ends up in
// D1 — and that a page on an origin the tracker does not allow gets 403.
func TestBrowserDeliversToWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts wrangler dev and Chromium")
	}
	setup(t)
	if _, err := os.Stat(filepath.Join(workerDir(t), "build", "public", "tracklet.js")); err != nil {
		t.Fatal("build/public/tracklet.js is missing: run `make build` (the browser module) before the worker tests")
	}
	w := startWorker(t, nil)
	ctx := context.Background()
	checkStaticAssets(t, w.URL)
	shop := newSite(t)
	evil := newSite(t)
	const tid = "tk_browser"
	w.query(ctx, fmt.Sprintf(`INSERT INTO trackers (id, name, origins, disabled, created_at_ms)
		VALUES ('%s', 'browser', '["%s"]', 0, 0)`, tid, shop.URL))

	page := fmt.Sprintf(`<!doctype html><html><head>
<script async src="%s/tracklet.js" data-tracking-id="%s" data-flush-interval="100000"></script>
</head><body>shop</body></html>`, w.URL, tid)
	browser := chromium(t)

	// The allowed origin: track, flush, and read back from D1.
	type tracked struct {
		ID    string         `json:"id"`
		Flush map[string]int `json:"flush"`
	}
	got := evaluate[tracked](t, browser, shop.page(page), `tracklet.ready.then(async t => {
		const id = await t.track("MovieRating", {numberOfRatings: "12"}, {itemId: "movie2", eventValue: 4.5});
		const flush = await t.flush();
		return {id, flush};
	})`)
	if got.ID == "" || got.Flush["sent"] != 1 {
		t.Fatalf("track+flush in the page gave %+v, want an eventId and 1 sent", got)
	}
	w.storedOnce(t, 20*time.Second)
	rows := w.query(ctx, "SELECT event_id, event_type, item_id, event_value, properties FROM events WHERE tracking_id = '"+tid+"'")
	if len(rows) != 1 || rows[0]["event_id"] != got.ID || rows[0]["event_type"] != "MovieRating" ||
		rows[0]["item_id"] != "movie2" || rows[0]["event_value"] != 4.5 || rows[0]["properties"] != `{"numberOfRatings":"12"}` {
		t.Errorf("D1 has %v, want the page's event %s", rows, got.ID)
	}

	// Another origin: the worker refuses with 403 and the tracker drops
	// the batch (a 4xx is not retried).
	stats := evaluate[map[string]int](t, browser, evil.page(page), `tracklet.ready.then(async t => {
		await t.track("MovieRating", {numberOfRatings: "1"});
		await t.flush();
		return t.stats();
	})`)
	if stats["sent"] != 0 || stats["dropped"] != 1 {
		t.Errorf("stats on a disallowed origin = %v, want 0 sent and 1 dropped", stats)
	}
	if !w.waitOutput(t, "POST /events 403 Forbidden", 20*time.Second) {
		t.Errorf("the worker did not answer 403; its log:\n%s", w.Output())
	}
}

// site is a web page's origin of its own: the worker is always another.
type site struct {
	URL string
	mux *http.ServeMux
	n   int
}

func newSite(t *testing.T) *site {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &site{URL: srv.URL, mux: mux}
}

func (s *site) page(html string) string {
	s.n++
	path := fmt.Sprintf("/page%d.html", s.n)
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(html))
	})
	return s.URL + path
}

// chromium starts a headless Chromium with the flags this closed network
// needs (web/browsertest.Browser).
func chromium(t *testing.T) context.Context {
	t.Helper()
	return browsertest.Browser(t)
}

// evaluate opens url in a new tab of browser and returns the value of the
// promise expr.
func evaluate[T any](t *testing.T, browser context.Context, url, expr string) T {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	tab, cancelTimeout := context.WithTimeout(tab, 60*time.Second)
	defer cancelTimeout()
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate in %s: %v", url, err)
	}
	return v
}

// checkStaticAssets checks the headers the worker's static assets get from
// the _headers file web/cmd/assets writes: the loader cached briefly, the
// hashed files it names for ever, all of them CORS-open.
func checkStaticAssets(t *testing.T, base string) {
	t.Helper()
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, loader := get("/tracklet.js")
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=300, stale-while-revalidate=86400" ||
		resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET /tracklet.js: %d, headers %v", resp.StatusCode, resp.Header)
	}
	names := regexp.MustCompile(`"((?:tracklet|wasm_exec|tracklet-sender)\.[0-9a-f]{16}\.(?:wasm|js))"`).FindAllStringSubmatch(loader, -1)
	if len(names) != 3 {
		t.Fatalf("tracklet.js names %v, want the three hashed files", names)
	}
	for _, m := range names {
		resp, _ := get("/" + m[1])
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET /%s: %d, headers %v", m[1], resp.StatusCode, resp.Header)
		}
	}
}
