package web_test

// Issue 10's tests of durability from the moment tracklet.js runs: a
// visitor who leaves at any moment, before or after the module runs, and a
// module that cannot start. Each ends by reading the real collector's
// SQLite file.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/web/browsertest"
)

// snippet is the README's inline snippet: it queues calls made before
// tracklet.js has arrived, with the moment of each.
const snippet = `<script>window.tracklet=window.tracklet||{q:[]};["init","track","identify","reset","flush","consent","optIn","optOut","on"].forEach(function(m){window.tracklet[m]=window.tracklet[m]||function(){window.tracklet.q.push([m,arguments,Date.now()])}})</script>`

// earlyCall is a call the page makes through the snippet, before
// tracklet.js has arrived.
const earlyCall = `<script>tracklet.track("Early", {n: -1, text: "avant l'arrivée 👋"})</script>`

// journalIDs is page code: the eventIds of the calls in the journal of
// tracker tid in localStorage.
func journalIDs(tid string) string {
	return fmt.Sprintf(`Object.keys(localStorage).filter((k) => k.startsWith("tracklet:%s:j:")).flatMap((k) => JSON.parse(localStorage.getItem(k)).map((r) => r.c[2].eventId))`, tid)
}

// loaderRan is page code that waits until tracklet.js has run.
const loaderRan = `while (!window.tracklet || !tracklet.ready) await new Promise((r) => setTimeout(r, 5));`

// trackAndRead is page code that tracks five events (awaiting the module
// first when moduleRuns) and returns the eventIds the journal holds once
// the calls' task is over.
func trackAndRead(tid string, moduleRuns bool) string {
	wait := ""
	if moduleRuns {
		wait = "await tracklet.ready;"
	}
	return fmt.Sprintf(`(async () => {
  %s
  %s
  for (let i = 0; i < 5; i++) tracklet.track("Leave", {n: i, price: 12.5, big: 1e21, ok: true, text: "<b>&\u2028\ud83d\ude00"}, {itemId: "item" + i});
  await Promise.resolve(); // the journal is written when the task's calls are done
  return %s;
})()`, loaderRan, wait, journalIDs(tid))
}

func TestTrackerLeavingLosesNothing(t *testing.T) {
	st := newStage(t)
	ctx, collector, proxy, site := st.ctx, st.collector, st.proxy, st.site
	other := browsertest.NewSite(t) // another origin: another site
	elsewhere := other.Page("/", `<!doctype html><p>another site, without the tracker</p>`)

	for _, moduleRuns := range []bool{false, true} {
		for _, leave := range []string{"other-site", "same-site", "close-tab"} {
			name := leave + "/before-the-module-runs"
			if moduleRuns {
				name = leave + "/after-the-module-runs"
			}
			t.Run(name, func(t *testing.T) {
				tid := collector.CreateTracker(name, site.URL)
				// The module is held back until the page is left, as on a
				// slow phone; the interval flush never comes.
				release := func() {}
				if !moduleRuns {
					release = proxy.HoldModule()
				}
				defer release()
				// Before the module runs, a call through the snippet too.
				head := snippet
				if !moduleRuns {
					head += earlyCall
				}
				const attrs = `data-flush-interval="600000"`
				page := trackerPage(proxy.URL, tid, proxy.URL, attrs, head)
				tab, closeTab := chromedp.NewContext(ctx)
				defer closeTab()
				if err := chromedp.Do(tab); err != nil {
					t.Fatal(err)
				}
				browsertest.Do(t, tab, chromedp.Navigate(site.Page("/"+name, page)))
				var ids []string
				if moduleRuns {
					ids = append(ids, browsertest.Eval[[]string](t, tab, `(async () => {
  await tracklet.ready;
  const id = await tracklet.track("Before");
  await tracklet.flush();
  return [id];
})()`)...)
				}
				got := browsertest.Eval[[]string](t, tab, trackAndRead(tid, moduleRuns))
				want := 5
				if !moduleRuns {
					want = 6 // and the snippet's call
				}
				if len(got) != want {
					t.Fatalf("the journal holds %d calls, want %d: %v", len(got), want, got)
				}
				ids = append(ids, got...)

				switch leave {
				case "other-site":
					browsertest.Do(t, tab, chromedp.Navigate(elsewhere))
				case "same-site":
					// The page's own requests fail: what it could not
					// deliver, the next page of the site sends from the
					// journal (or the module's store), once.
					proxy.Fail(func(*http.Request) int { return http.StatusServiceUnavailable })
					next := site.Page("/"+name+"/next", trackerPage(proxy.URL, tid, proxy.URL, attrs, ""))
					browsertest.Do(t, tab, chromedp.Navigate(next))
					release()
					queued := browsertest.Eval[int](t, tab, `tracklet.ready.then((t) => t.stats().queued)`)
					if queued < len(got) {
						t.Errorf("the next page took %d events from the journal, want at least %d", queued, len(got))
					}
					proxy.Fail(nil)
					browsertest.Eval[map[string]int](t, tab, `tracklet.flush()`)
				case "close-tab":
					closeTab()
				}
				waitStored(t, ctx, collector, tid, ids, 15*time.Second)
				if leave == "same-site" {
					if n := browsertest.Eval[int](t, tab, journalIDs(tid)+".length"); n != 0 {
						t.Errorf("%d journal items left after delivery", n)
					}
					noPageErrors(t, tab)
				}
			})
		}
	}
}

// A module that cannot be downloaded: every call settles with the reason,
// nothing grows without bound, and the journal keeps the calls for the
// next page, which delivers them once the module loads.
func TestTrackerModuleBlockedSettlesAndTheNextPageDelivers(t *testing.T) {
	st := newStage(t)
	ctx, collector, proxy, site := st.ctx, st.collector, st.proxy, st.site
	tid := collector.CreateTracker("blocked", site.URL)
	page := trackerPage(proxy.URL, tid, proxy.URL, fastRetries, snippet+earlyCall)

	proxy.FailAssets(func(r *http.Request) int {
		if strings.HasSuffix(r.URL.Path, ".wasm") {
			return http.StatusNotFound
		}
		return 0
	})
	// The page's own unload copies are refused: only the next page can
	// deliver.
	proxy.Fail(func(*http.Request) int { return http.StatusServiceUnavailable })
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", page)))
	got := browsertest.Eval[struct {
		Pending, Ready, Later, Flush string
		Queued, Journaled, Errors    int
		IDs                          []string
	}](t, ctx, `(async () => {
  `+loaderRan+`
  const r = {};
  const pending = tracklet.track("Pending").then(() => "resolved", (e) => e.message);
  r.ready = await tracklet.ready.then(() => "resolved", (e) => e.message);
  r.pending = await pending;
  r.later = await tracklet.track("Later").then(() => "resolved", (e) => e.message);
  r.flush = await tracklet.flush().then(() => "resolved", (e) => e.message);
  for (let i = 0; i < 3000; i++) tracklet.track("Flood", {n: i}).catch(() => {});
  await Promise.resolve();
  const s = tracklet.stats();
  r.queued = s.queued; r.journaled = s.stored; r.errors = s.storageErrors;
  r.ids = `+journalIDs(tid)+`;
  return r;
})()`)
	if !strings.Contains(got.Ready, "answered 404") {
		t.Errorf("tracklet.ready rejected with %q, want the module's 404", got.Ready)
	}
	for name, msg := range map[string]string{"pending track": got.Pending, "later track": got.Later, "flush": got.Flush} {
		if msg != got.Ready {
			t.Errorf("%s settled with %q, want the start-up error %q", name, msg, got.Ready)
		}
	}
	// Bounded: nothing waits in memory for a module that will not come,
	// and the journal stops at its bound.
	if got.Queued != 0 || got.Journaled != 1000 || len(got.IDs) != 1000 || got.Errors == 0 {
		t.Errorf("after 3003 calls: queued %d, journaled %d (%d ids), storage errors %d; want 0, 1000, 1000, > 0",
			got.Queued, got.Journaled, len(got.IDs), got.Errors)
	}

	// The next page can load the module: it delivers the journal, once.
	proxy.FailAssets(nil)
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/next", trackerPage(proxy.URL, tid, proxy.URL, fastRetries, ""))))
	proxy.Fail(nil)
	browsertest.Eval[bool](t, ctx, `tracklet.ready.then(() => true)`)
	browsertest.Eval[map[string]int](t, ctx, `tracklet.flush()`)
	waitStored(t, ctx, collector, tid, got.IDs, 20*time.Second)
	noPageErrors(t, ctx)
}

// A page that replaces Array.prototype.forEach, Promise.prototype.then and
// window.fetch after the loader ran (a framework's patches, or a hostile
// script) still gets its events delivered: the loader and the module use
// their own references.
func TestTrackerOnAHostilePage(t *testing.T) {
	st := newStage(t)
	ctx, collector, proxy, site := st.ctx, st.collector, st.proxy, st.site
	tid := collector.CreateTracker("hostile", site.URL)
	release := proxy.HoldModule()
	defer release()
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", trackerPage(proxy.URL, tid, proxy.URL, fastRetries, ""))))
	browsertest.Eval[bool](t, ctx, `(async () => {
  `+loaderRan+`
  Array.prototype.forEach = function () { throw new Error("hostile forEach"); };
  Promise.prototype.then = function () { throw new Error("hostile then"); };
  window.fetch = () => { throw new Error("hostile fetch"); };
  return true;
})()`)
	release()
	ids := browsertest.Eval[[]string](t, ctx, `(async () => {
  await tracklet.ready;
  const ids = [];
  for (let i = 0; i < 15; i++) ids.push(await tracklet.track("Hostile", {n: i}));
  await tracklet.flush();
  return ids;
})()`)
	waitStored(t, ctx, collector, tid, ids, 10*time.Second)
	noPageErrors(t, ctx)
}

// Where the page has no Worker at all, the module runs and sends from the
// page.
func TestTrackerWithoutWorkerConstructor(t *testing.T) {
	ctx, _, _, _, _ := runBlockedBurst(t, "no-worker-api", `<script>delete window.Worker; window.Worker = undefined;</script>`, time.Second)
	noPageErrors(t, ctx)
}

// A strict Content-Security-Policy: scripts by nonce and from the
// collector, WebAssembly allowed, no eval; with and without blob: workers.
// Every event arrives, and the tracker makes the browser report no
// violation but the blob: Worker a policy without worker-src forbids.
func TestTrackerUnderStrictCSP(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	for _, workers := range []bool{false, true} {
		name := "without-blob-workers"
		extra := ""
		if workers {
			name, extra = "with-blob-workers", "; worker-src blob:"
		}
		t.Run(name, func(t *testing.T) {
			tid := collector.CreateTracker("csp-"+name, site.URL)
			csp := fmt.Sprintf(`script-src 'nonce-n0nce' %s 'wasm-unsafe-eval'; connect-src %s%s`, collector.URL, collector.URL, extra)
			html := fmt.Sprintf(`<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="%s">
<script nonce="n0nce">
window.pageErrors = [];
window.violations = [];
addEventListener("error", (e) => pageErrors.push(String(e.message)));
addEventListener("unhandledrejection", (e) => pageErrors.push("unhandled: " + (e.reason && e.reason.message || e.reason)));
document.addEventListener("securitypolicyviolation", (e) => violations.push(e.violatedDirective + " " + e.blockedURI));
</script>
%s
<script async nonce="n0nce" src="%s/tracklet.js" data-tracking-id="%s" %s></script>
</head><body><p>strict</p></body></html>`, csp, strings.Replace(snippet, "<script>", `<script nonce="n0nce">`, 1), collector.URL, tid, fastRetries)
			browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/"+name, html)))
			ids := browsertest.Eval[[]string](t, ctx, trackN("Strict", 25))
			browsertest.Eval[map[string]int](t, ctx, `tracklet.flush()`)
			waitStored(t, ctx, collector, tid, ids, 10*time.Second)
			noPageErrors(t, ctx)
			for _, v := range browsertest.Eval[[]string](t, ctx, `window.violations`) {
				if workers || !strings.HasPrefix(v, "worker-src blob") && !strings.HasPrefix(v, "script-src blob") {
					t.Errorf("CSP violation: %s", v)
				}
			}
		})
	}
}
