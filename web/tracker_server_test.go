package web_test

// Issue 4's tests of the tracker meeting the collector's rules: a body
// limit that forces batches apart, and a client clock that is wrong.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/web/browsertest"
)

func TestTrackerSplitsBatchesTheCollectorRefusesWith413(t *testing.T) {
	ctx := browsertest.Browser(t)
	// 4 KB takes five of these events but not ten; the collector applies it
	// to the body as sent and once decompressed, so gzip does not help.
	collector := browsertest.StartCollector(t, "--max-body", "4096")
	proxy := browsertest.NewProxy(t, collector.URL)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("413", site.URL)
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", trackerPage(collector.URL, tid, proxy.URL, fastRetries, ""))))

	got := browsertest.Eval[struct {
		IDs     []string
		Huge    string
		Dropped []struct {
			EventIDs []string
			Error    string
		}
	}](t, ctx, `(async () => {
  await tracklet.ready;
  const dropped = [];
  tracklet.on("dropped", (n) => dropped.push(n));
  const text = "x".repeat(350);
  const ids = [];
  let huge;
  for (let i = 0; i < 20; i++) {
    ids.push(tracklet.track("Fits", {n: i, text}));
    // One event larger than the limit on its own: 25 ids of 200 characters.
    if (i === 9) huge = tracklet.track("TooLarge", {}, {impression: Array.from({length: 25}, (_, j) => String(j).padEnd(200, "i"))});
  }
  await tracklet.flush();
  while (dropped.length === 0) await new Promise((r) => setTimeout(r, 20));
  return {ids: await Promise.all(ids), huge: await huge, dropped};
})()`)
	waitStored(t, ctx, collector, tid, got.IDs, 10*time.Second)

	if len(got.Dropped) != 1 || len(got.Dropped[0].EventIDs) != 1 || got.Dropped[0].EventIDs[0] != got.Huge ||
		!strings.Contains(got.Dropped[0].Error, "413") {
		t.Errorf("dropped notices %+v, want one for the too large event %s, saying 413", got.Dropped, got.Huge)
	}
	// Unsplit, 21 events take three requests.
	if byRoute, _ := proxy.Requests(); byRoute["POST /events"] <= 3 {
		t.Errorf("%d requests: the batches were not split", byRoute["POST /events"])
	}
	if s := browsertest.Eval[map[string]int](t, ctx, `tracklet.stats()`); s["dropped"] != 1 || s["sent"] != 20 || s["queued"] != 0 || s["stored"] != 0 {
		t.Errorf("stats: %v", s)
	}
	noPageErrors(t, ctx)
}

func TestTrackerClockSkewIsCorrectedByTheCollector(t *testing.T) {
	for _, skew := range []time.Duration{-2 * time.Hour, 10 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			ctx := browsertest.Browser(t)
			collector := browsertest.StartCollector(t)
			site := browsertest.NewSite(t)
			tid := collector.CreateTracker("skew", site.URL)
			// The device's clock is off by skew: on the page and in its
			// Workers (the module's), Date.now() and new Date(), which Go's
			// wasm runtime reads for time.Now, are shifted. A Worker gets
			// the shift from a bootstrap that runs it before its script.
			skewDate := fmt.Sprintf(`(() => {
  const skew = %d, RealDate = Date;
  class SkewedDate extends RealDate {
    constructor(...args) { if (args.length === 0) super(RealDate.now() + skew); else super(...args); }
    static now() { return RealDate.now() + skew; }
  }
  globalThis.Date = SkewedDate;
})();`, skew.Milliseconds())
			shift := skewDate + fmt.Sprintf(`(() => {
  const RealWorker = Worker, skewDate = %q;
  globalThis.Worker = function (url, opts) {
    const boot = skewDate + "importScripts(" + JSON.stringify(new URL(url, location.href).href) + ");";
    return new RealWorker(URL.createObjectURL(new Blob([boot], {type: "text/javascript"})), opts);
  };
})();`, skewDate)
			if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: shift}); err != nil {
				t.Fatal(err)
			}
			browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", trackerPage(collector.URL, tid, collector.URL, fastRetries, ""))))
			// Bracketed by our clock (the same system clock, read in ms):
			// how long the round trip takes on a busy machine does not
			// matter.
			before := time.Now()
			pageNow := time.UnixMilli(int64(browsertest.Eval[float64](t, ctx, `Date.now()`)))
			after := time.Now()
			if lo, hi := before.Add(skew-5*time.Millisecond), after.Add(skew+5*time.Millisecond); pageNow.Before(lo) || pageNow.After(hi) {
				t.Fatalf("the page's clock reads %v, want our clock shifted by %v: within [%v, %v]", pageNow, skew, lo, hi)
			}

			start := time.Now()
			ids := browsertest.Eval[[]string](t, ctx, trackN("Now", 3))
			// An event that happened a minute before the call, by the page's clock.
			past := browsertest.Eval[string](t, ctx, `tracklet.track("AMinuteAgo", {}, {sentAt: Date.now() - 60000})`)
			browsertest.Eval[map[string]int](t, ctx, `tracklet.flush()`)
			end := time.Now()
			rows := waitStored(t, ctx, collector, tid, append(ids, past), 10*time.Second)

			for _, r := range rows {
				want := [2]time.Time{start.Add(-time.Second), end.Add(time.Second)} // real time of the call
				if r.EventID == past {
					want = [2]time.Time{want[0].Add(-time.Minute), want[1].Add(-time.Minute)}
				}
				sent, occurred := time.UnixMilli(r.SentAtMs), time.UnixMilli(r.OccurredAtMs)
				// sentAt is kept as the client said it ...
				if sent.Before(want[0].Add(skew)) || sent.After(want[1].Add(skew)) {
					t.Errorf("%s: sentAt %v is not the page's clock: want within [%v, %v]", r.EventType, sent, want[0].Add(skew), want[1].Add(skew))
				}
				// ... and occurredAt is on the collector's clock.
				if occurred.Before(want[0]) || occurred.After(want[1]) {
					t.Errorf("%s: occurredAt %v not corrected for a skew of %v: want within [%v, %v]", r.EventType, occurred, skew, want[0], want[1])
				}
			}
		})
	}
}
