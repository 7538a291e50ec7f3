package web_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/web/browsertest"
)

// trackerPage is a customer's page that loads the tracker from assetsURL
// (a collector) and sends to endpoint, with extra attributes (e.g. short
// flush and retry intervals, so that tests need not wait long) and extra
// head markup before the tracker's tag. It records every error that
// reaches the page in window.pageErrors: the tracker must throw none.
func trackerPage(assetsURL, tid, endpoint, attrs, head string) string {
	return fmt.Sprintf(`<!doctype html><html><head><meta charset="utf-8"><title>shop</title>
<script>
window.pageErrors = [];
addEventListener("error", (e) => pageErrors.push(String(e.message)));
addEventListener("unhandledrejection", (e) => pageErrors.push("unhandled: " + (e.reason && e.reason.message || e.reason)));
</script>
%s
<script async src="%s/tracklet.js" data-tracking-id="%s" data-endpoint="%s" %s></script>
</head><body><p>shop</p></body></html>`, head, assetsURL, tid, endpoint, attrs)
}

// fastRetries makes a failed send come back within half a second, instead
// of the default backoff that starts at a second and grows to a minute.
const fastRetries = `data-flush-interval="100" data-retry-base="50" data-retry-max="500"`

// trackN is page code that tracks n events of type typ, with a property
// saying which one, and returns their eventIds.
func trackN(typ string, n int) string {
	return fmt.Sprintf(`(async () => {
  await tracklet.ready;
  const calls = [];
  for (let i = 0; i < %d; i++) calls.push(tracklet.track(%q, {n: i}));
  return Promise.all(calls);
})()`, n, typ)
}

// waitStored waits until the collector holds want events of tid (or the
// timeout passes) and then checks that it holds each of them exactly once
// and nothing else. No grace period follows: the store keeps an eventId
// once whatever arrives (sentOnce checks that nothing arrived twice), and
// an event not in want that comes first takes the place of one of want,
// which then shows as missing.
func waitStored(t *testing.T, ctx context.Context, c *browsertest.Collector, tid string, want []string, timeout time.Duration) []browsertest.Row {
	t.Helper()
	c.WaitForEvents(ctx, tid, len(want), timeout)
	rows := c.Events(ctx, tid)
	checkExactlyOnce(t, rows, want)
	if t.Failed() {
		t.Logf("collector output:\n%s", tail(c.Output(), 40))
	}
	return rows
}

// sentOnce fails t if the collector was sent an event it already had,
// once the tracker of every tab is idle: each flushes what it holds and
// reports nothing queued, so every request it made has been answered and
// counted. The collector must not have been restarted (its count starts
// at zero) nor have lost an answer on the way (a retry of a request it
// stored is a duplicate by design).
func sentOnce(t *testing.T, c *browsertest.Collector, tabs ...context.Context) {
	t.Helper()
	for i, tab := range tabs {
		if q := browsertest.Eval[int](t, tab, `tracklet.flush().then(() => tracklet.stats().queued)`); q != 0 {
			t.Errorf("tab %d still has %d events queued after a flush", i, q)
		}
	}
	if n := c.Duplicates(tabs[0]); n != 0 {
		t.Errorf("the collector dropped %d duplicates: events were sent twice", n)
	}
}

// checkExactlyOnce fails t unless rows hold every id of want once and no
// other event.
func checkExactlyOnce(t *testing.T, rows []browsertest.Row, want []string) {
	t.Helper()
	count := make(map[string]int, len(rows))
	for _, r := range rows {
		count[r.EventID]++
	}
	var missing, twice, extra []string
	for _, id := range want {
		switch count[id] {
		case 0:
			missing = append(missing, id)
		case 1:
		default:
			twice = append(twice, id)
		}
	}
	wanted := make(map[string]bool, len(want))
	for _, id := range want {
		wanted[id] = true
	}
	for id := range count {
		if !wanted[id] {
			extra = append(extra, id)
		}
	}
	if len(want) == 0 {
		t.Fatal("checkExactlyOnce: no events expected; the test proves nothing")
	}
	if len(missing)+len(twice)+len(extra) > 0 || len(rows) != len(want) {
		sort.Strings(extra)
		t.Errorf("store holds %d rows for %d events: %d missing %v, %d stored more than once %v, %d unexpected %v",
			len(rows), len(want), len(missing), short(missing), len(twice), short(twice), len(extra), short(extra))
	}
}

func short(ids []string) []string {
	if len(ids) > 5 {
		return append(ids[:5:5], "…")
	}
	return ids
}

func tail(s string, lines int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// noPageErrors fails t if the page saw an exception the tracker threw.
func noPageErrors(t *testing.T, ctx context.Context) {
	t.Helper()
	if errs := browsertest.Eval[[]string](t, ctx, `window.pageErrors`); len(errs) > 0 {
		t.Errorf("errors reached the page: %q", errs)
	}
}

// openShop starts a browser, a collector and a customer's site with a
// tracker named name, and opens the site's page: the tracker from the
// collector, sending to it, with fastRetries.
func openShop(t *testing.T, name string) (context.Context, *browsertest.Collector, string) {
	t.Helper()
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker(name, site.URL)
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", trackerPage(collector.URL, tid, collector.URL, fastRetries, ""))))
	return ctx, collector, tid
}

// stage is what most browser tests start from: a browser, a real
// collector, a proxy in front of it and a customer's site.
type stage struct {
	ctx       context.Context
	collector *browsertest.Collector
	proxy     *browsertest.Proxy
	site      *browsertest.Site
}

func newStage(t *testing.T) stage {
	t.Helper()
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	return stage{ctx: ctx, collector: collector, proxy: browsertest.NewProxy(t, collector.URL), site: browsertest.NewSite(t)}
}
