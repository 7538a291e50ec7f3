package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/web/browsertest"
)

// blockMainThread is page code that tracks 20 events, lets the module take
// them (and start their requests), and then holds the page's main thread
// in a synchronous request to the site's /block, which answers once the
// collector holds all 21 events or its wait is over (see runBlockedBurst):
// while it waits, no page code runs, so whatever arrives meanwhile was sent
// by something else than the page. It returns the eventIds, when the block
// began and ended, and /block's answer. A first event, sent and answered,
// shows that the module is up, Worker included.
const blockMainThread = `(async () => {
  await tracklet.ready;
  const first = await tracklet.track("First");
  await tracklet.flush();
  const calls = [];
  for (let i = 0; i < 20; i++) calls.push(tracklet.track("Blocked", {n: i}));
  const ids = await Promise.all(calls);
  const from = Date.now();
  const block = new XMLHttpRequest();
  block.open("GET", "/block", false);
  block.send();
  return {first, ids, from, to: Date.now(), answer: block.responseText};
})()`

// blockedBurst is what blockMainThread returns.
type blockedBurst struct {
	First    string
	IDs      []string
	From, To int64
	Answer   string // "stored": the collector had all 21 during the block
}

// runBlockedBurst opens a page of a new tracker, with head markup before
// the tracker's tag, runs blockMainThread on it and waits until the
// collector holds its events, each once. The block lasts until the
// collector holds all 21 events, or wait at the most.
func runBlockedBurst(t *testing.T, name, head string, wait time.Duration) (context.Context, *browsertest.Collector, string, blockedBurst, []browsertest.Row) {
	t.Helper()
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker(name, site.URL)
	site.Handle("/block", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		over := time.After(wait)
		for len(collector.Events(r.Context(), tid)) < 21 {
			select {
			case <-tick.C:
			case <-over:
				fmt.Fprint(w, "waited")
				return
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprint(w, "stored")
	})
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", trackerPage(collector.URL, tid, collector.URL, "", head))))
	got := browsertest.Eval[blockedBurst](t, ctx, blockMainThread)
	rows := waitStored(t, ctx, collector, tid, append(got.IDs, got.First), 10*time.Second)
	return ctx, collector, tid, got, rows
}

// The requests go out from a Worker: a page that keeps its main thread
// busy does not hold up delivery.
func TestTrackerSendsWhileThePageIsBusy(t *testing.T) {
	// The wait only bounds a failing test: the block ends as soon as the
	// collector has the events.
	ctx, _, _, got, _ := runBlockedBurst(t, "busy", "", time.Minute)
	if got.Answer != "stored" {
		t.Errorf("the collector did not get the events while the page's main thread was blocked (/block answered %q): they wait for the page", got.Answer)
	}
	noPageErrors(t, ctx)
}

// Where the page's Content-Security-Policy forbids Workers, the module
// sends from the page itself, and nothing is lost or doubled.
func TestTrackerWithoutWorkersSendsFromThePage(t *testing.T) {
	csp := `<meta http-equiv="Content-Security-Policy" content="worker-src 'none'">`
	ctx, collector, tid, got, rows := runBlockedBurst(t, "noworker", csp, time.Second)
	ids := append(got.IDs, got.First)
	// The proof that no Worker sent them: they waited for the page.
	if got.Answer != "waited" {
		t.Errorf("the collector got the events while the page's main thread was blocked (/block answered %q)", got.Answer)
	}
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

// A page left during a burst: requests the Worker had under way, the queue
// sent with keepalive and what the budget left in storage for the next
// page all arrive, each event once.
func TestTrackerLeavingDuringABurstDeliversEachEventOnce(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("burst", site.URL)
	page := trackerPage(collector.URL, tid, collector.URL, `data-flush-interval="200"`, "")
	next := site.Page("/next", page)
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", page)))
	// The first request shows that the module and its Worker are up.
	first := browsertest.Eval[[]string](t, ctx, `(async () => { await tracklet.ready; const id = await tracklet.track("First"); await tracklet.flush(); return [id]; })()`)
	// The eventIds are chosen here and the evaluation returns at once: the
	// page is gone before it could report generated ones (a result awaited
	// across the navigation races it).
	var ids []string
	for i := range 300 {
		ids = append(ids, fmt.Sprintf("burst-%d-%d", time.Now().UnixNano(), i))
	}
	browsertest.Eval[bool](t, ctx, fmt.Sprintf(`(() => {
  const ids = %q.split(",");
  const calls = ids.map((id, i) => tracklet.track("Burst", {n: i}, {eventId: id}));
  Promise.all(calls).then(() => { location.href = %q; });
  return true;
})()`, strings.Join(ids, ","), next))
	waitStored(t, ctx, collector, tid, append(first, ids...), 15*time.Second)
}

// Requests under way in the Worker when the page is left for one without
// the tracker: the Worker ends with the page, so the page sends them again
// with keepalive, and they arrive.
func TestTrackerLeavingWithRequestsInTheWorkerDelivers(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	proxy := browsertest.NewProxy(t, collector.URL)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("inworker", site.URL)
	next := site.Page("/next", `<!doctype html><p>elsewhere, without the tracker</p>`)
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", trackerPage(collector.URL, tid, proxy.URL, `data-flush-interval="60000"`, ""))))
	first := browsertest.Eval[[]string](t, ctx, `(async () => { await tracklet.ready; const id = await tracklet.track("First"); await tracklet.flush(); return [id]; })()`)
	// 40 events fill four requests, which the module hands to the Worker
	// as it takes the calls; the collector is slow to answer them, and the
	// page is left meanwhile.
	proxy.Delay(time.Second)
	ids := browsertest.Eval[[]string](t, ctx, `(async () => {
  const calls = [];
  for (let i = 0; i < 40; i++) calls.push(tracklet.track("InWorker", {n: i}));
  return Promise.all(calls);
})()`)
	browsertest.Eval[bool](t, ctx, fmt.Sprintf(`(() => { location.href = %q; return true; })()`, next))
	waitStored(t, ctx, collector, tid, append(first, ids...), 10*time.Second)
}
