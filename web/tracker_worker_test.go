package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/web/browsertest"
)

// blockMainThread is page code that tracks 20 events, lets the module take
// them (and start their requests), and then holds the page's main thread
// for a second. It returns the eventIds and when the block began and ended.
// A first event, sent and answered, shows that the module is up, Worker
// included.
const blockMainThread = `(async () => {
  await tracklet.ready;
  const first = await tracklet.track("First");
  await tracklet.flush();
  const calls = [];
  for (let i = 0; i < 20; i++) calls.push(tracklet.track("Blocked", {n: i}));
  const ids = await Promise.all(calls);
  const from = Date.now();
  while (Date.now() - from < 1000) {}
  return {first, ids, from, to: Date.now()};
})()`

// The requests go out from a Worker: a page that keeps its main thread
// busy does not hold up delivery.
func TestTrackerSendsWhileThePageIsBusy(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("busy", site.URL)
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", trackerPage(collector.URL, tid, collector.URL, "", ""))))
	got := browsertest.Eval[struct {
		First    string
		IDs      []string
		From, To int64
	}](t, ctx, blockMainThread)
	rows := waitStored(t, ctx, collector, tid, append(got.IDs, got.First), 10*time.Second)
	for _, r := range rows {
		if r.EventID != got.First && r.ReceivedAtMs >= got.To {
			t.Errorf("event %s arrived at %d, after the page's main thread was free again (%d): it was sent from the page", r.EventID, r.ReceivedAtMs, got.To)
			break
		}
	}
	noPageErrors(t, ctx)
}

// Where the page's Content-Security-Policy forbids Workers, the module
// sends from the page itself, and nothing is lost or doubled.
func TestTrackerWithoutWorkersSendsFromThePage(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("noworker", site.URL)
	csp := `<meta http-equiv="Content-Security-Policy" content="worker-src 'none'">`
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", trackerPage(collector.URL, tid, collector.URL, "", csp))))
	got := browsertest.Eval[struct {
		First    string
		IDs      []string
		From, To int64
	}](t, ctx, blockMainThread)
	ids := append(got.IDs, got.First)
	rows := waitStored(t, ctx, collector, tid, ids, 10*time.Second)
	// The proof that no Worker sent them: they waited for the page.
	for _, r := range rows {
		if r.EventID != got.First && r.ReceivedAtMs < got.To {
			t.Errorf("event %s arrived at %d, while the page's main thread was blocked (until %d)", r.EventID, r.ReceivedAtMs, got.To)
			break
		}
	}
	more := browsertest.Eval[[]string](t, ctx, trackN("AfterBlock", 25))
	waitStored(t, ctx, collector, tid, append(ids, more...), 10*time.Second)
	noPageErrors(t, ctx)
}
