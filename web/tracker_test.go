package web_test

// Issue 4's delivery tests: the tracker in headless Chromium against the
// real collector process, through failures made real (a killed collector)
// or injected (a proxy answering 503). Each ends by reading the collector's
// SQLite file and checking that every event arrived exactly once.

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/web/browsertest"
)

func TestTrackerRetriesWhileTheCollectorAnswers503(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	proxy := browsertest.NewProxy(t, collector.URL)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("503", site.URL)

	// The collector is "unavailable" until the page has had three sends
	// refused: the first and two retries of what it tracked.
	proxy.Fail(func(*http.Request) int { return http.StatusServiceUnavailable })
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", trackerPage(collector.URL, tid, proxy.URL, fastRetries, ""))))
	browsertest.Eval[bool](t, ctx, `tracklet.ready.then(() => { window.failures = 0; tracklet.on("error", () => failures++); return true; })`)
	ids := browsertest.Eval[[]string](t, ctx, trackN("During503", 30))
	browsertest.Eval[bool](t, ctx, failuresAtLeast(3))
	proxy.Fail(nil)
	waitStored(t, ctx, collector, tid, ids, 15*time.Second)

	_, faults := proxy.Requests()
	stats := browsertest.Eval[map[string]int](t, ctx, `tracklet.stats()`)
	failures := browsertest.Eval[int](t, ctx, `window.failures`)
	if faults == 0 || stats["retries"] == 0 || failures == 0 {
		t.Errorf("no 503 was seen: %d injected, stats %v, %d error notices", faults, stats, failures)
	}
	if stats["sent"] != 30 || stats["queued"] != 0 || stats["stored"] != 0 {
		t.Errorf("stats after delivery: %v", stats)
	}
	noPageErrors(t, ctx)
}

func TestTrackerCollectorDownPageReloadedCollectorUp(t *testing.T) {
	ctx := browsertest.Browser(t)
	cdn := browsertest.StartCollector(t) // serves the tracker's files, stays up
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("down", site.URL)
	url := site.Page("/", trackerPage(cdn.URL, tid, collector.URL, fastRetries, ""))

	browsertest.Do(t, ctx, chromedp.Navigate(url))
	ids := browsertest.Eval[[]string](t, ctx, trackN("BeforeDown", 5))
	browsertest.Eval[map[string]int](t, ctx, `tracklet.flush()`)
	collector.WaitForEvents(ctx, tid, 5, 5*time.Second)

	collector.Kill()
	ids = append(ids, browsertest.Eval[[]string](t, ctx, trackN("WhileDown", 10))...)
	if sent := browsertest.Eval[int](t, ctx, `tracklet.flush().then((r) => r.sent)`); sent != 0 {
		t.Fatalf("flush sent %d events to a dead collector", sent)
	}
	if stored := browsertest.Eval[int](t, ctx, `tracklet.stats().stored`); stored != 10 {
		t.Fatalf("%d events saved in localStorage before the reload, want 10", stored)
	}

	// The reload happens while the collector is still down: what the old
	// page could not send, the new page finds in storage.
	browsertest.Do(t, ctx, chromedp.Reload())
	claimed := browsertest.Eval[int](t, ctx, `tracklet.ready.then((t) => t.stats().queued)`)
	if claimed != 10 {
		t.Errorf("the reloaded page took over %d saved events, want 10", claimed)
	}
	ids = append(ids, browsertest.Eval[[]string](t, ctx, trackN("AfterReload", 3))...)

	collector.Restart()
	waitStored(t, ctx, collector, tid, ids, 15*time.Second)
	if s := browsertest.Eval[map[string]int](t, ctx, `tracklet.stats()`); s["stored"] != 0 || s["queued"] != 0 {
		t.Errorf("after delivery the page still keeps events: %v", s)
	}
	noPageErrors(t, ctx)
}

func TestTrackerCollectorKilledAndRestartedDuringABurst(t *testing.T) {
	ctx := browsertest.Browser(t)
	cdn := browsertest.StartCollector(t)
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("burst", site.URL)
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", trackerPage(cdn.URL, tid, collector.URL, fastRetries, ""))))
	browsertest.Eval[bool](t, ctx, `tracklet.ready.then(() => true)`)

	// 10 events every 20 ms, paced by the page's own timers, until the
	// test has killed the collector, and 25 rounds more: the burst goes on
	// while the collector is dead, however slow the machine.
	browsertest.Eval[bool](t, ctx, `(() => {
  window.failures = 0;
  tracklet.on("error", () => failures++);
  window.burst = {ids: [], done: false, killed: false};
  (async () => {
    let after = 0;
    while (after < 25) {
      if (burst.killed) after++;
      for (let i = 0; i < 10; i++) burst.ids.push(tracklet.track("Burst", {i}));
      await new Promise((r) => setTimeout(r, 20));
    }
    burst.ids = await Promise.all(burst.ids);
    burst.done = true;
  })();
  return true;
})()`)
	collector.WaitForEvents(ctx, tid, 50, 10*time.Second)
	before := browsertest.Eval[int](t, ctx, `failures`)
	collector.Kill()
	browsertest.Eval[bool](t, ctx, `burst.killed = true`)
	// Up again once the page has had a send fail against the dead one.
	browsertest.Eval[bool](t, ctx, failuresAtLeast(before+1))
	collector.Restart()
	if !browsertest.Eval[bool](t, ctx, `(async () => { while (!burst.done) await new Promise((r) => setTimeout(r, 20)); return true; })()`) {
		t.Fatal("burst did not finish")
	}
	ids := browsertest.Eval[[]string](t, ctx, `burst.ids`)
	if len(ids) < 300 {
		t.Fatalf("%d eventIds, want at least 30 rounds of 10", len(ids))
	}
	waitStored(t, ctx, collector, tid, ids, 20*time.Second)
	noPageErrors(t, ctx)
}

// failuresAtLeast is page code that resolves once the page's tracker has
// reported n failed sends (its "error" notices, counted in
// window.failures by a listener the test added).
func failuresAtLeast(n int) string {
	return fmt.Sprintf(`new Promise((resolve) => {
  const check = () => { if (failures >= %d) { off(); resolve(true); } };
  const off = tracklet.on("error", check);
  check();
})`, n)
}
