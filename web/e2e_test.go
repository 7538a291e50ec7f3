package web_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/web/browsertest"
)

// sitePage is a customer's page on its own origin. It installs the tracker
// exactly as the README says, makes two calls before the loader has even
// run (through the one-line stub) and one more after the loader ran but
// before the module was ready.
const sitePage = `<!doctype html>
<html><head><meta charset="utf-8"><title>shop</title>
<script>window.tracklet=window.tracklet||{q:[]};["track","identify","flush"].forEach(function(m){window.tracklet[m]=window.tracklet[m]||function(){window.tracklet.q.push([m,arguments])}})</script>
<script>
  tracklet.track("EarlyView", {page: "home"});
  tracklet.track("EarlyClick", {button: "hero"}, {itemId: "early-item"});
  function loaderRan() {
    var ready = false;
    tracklet.ready.then(function () { ready = true; });
    window.midCall = {before: !ready, promise: tracklet.track("MidLoad", {phase: "loading"})};
  }
</script>
<script async src="%s/tracklet.js" data-tracking-id="%s" onload="loaderRan()"></script>
</head><body><h1>A shop</h1></body></html>`

// plainPage installs the tracker and does nothing else.
const plainPage = `<!doctype html><html><head><meta charset="utf-8"><title>plain</title>
<script async src="%s/tracklet.js" data-tracking-id="%s"></script></head><body></body></html>`

// trackCalls is page code that makes 25 varied track calls and returns their
// eventIds, with a user signing in after the 10th.
const trackCalls = `(async () => {
  const calls = [];
  for (let i = 0; i < 25; i++) {
    if (i === 10) tracklet.identify("user-42");
    const props = {n: i, label: "événement \"" + i + "\" <b>", even: i % 2 === 0};
    const opts = {};
    if (i % 3 === 0) opts.itemId = "movie" + i;
    if (i % 4 === 0) opts.eventValue = i / 2;
    if (i % 5 === 0) opts.impression = ["movie1", "movie2", "movie" + i];
    if (i === 7) opts.recommendationId = "rec-7";
    if (i === 8) opts.eventId = "explicit-id-8";
    calls.push(tracklet.track(i % 2 ? "MovieRating" : "View", props, opts));
  }
  return Promise.all(calls);
})()`

func TestTrackInBrowserLandsInSQLite(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("e2e", site.URL)
	pageURL := site.Page("/", fmt.Sprintf(sitePage, collector.URL, tid))

	start := time.Now()
	browsertest.Do(t, ctx, chromedp.Navigate(pageURL))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`tracklet.ready.then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("tracklet.ready: %v", err)
	}
	midBefore := browsertest.Eval[bool](t, ctx, `window.midCall.before`)
	if !midBefore {
		t.Fatal("the MidLoad call ran after the module was ready; it does not test the loader's queue")
	}
	midID := browsertest.Eval[string](t, ctx, `window.midCall.promise`)
	ids := browsertest.Eval[[]string](t, ctx, trackCalls)
	flushed := browsertest.Eval[map[string]int](t, ctx, `tracklet.flush()`)
	end := time.Now()
	t.Logf("flush: %v", flushed)

	rows := collector.WaitForEvents(ctx, tid, 28, 10*time.Second)
	byID := make(map[string]browsertest.Row)
	byType := make(map[string]int)
	for _, r := range rows {
		if _, dup := byID[r.EventID]; dup {
			t.Errorf("event %s stored twice", r.EventID)
		}
		byID[r.EventID] = r
		byType[r.EventType]++
	}
	if len(rows) != 28 {
		t.Fatalf("stored %d events, want 28 (25 + 2 early + 1 mid-load); by type %v\ncollector log:\n%s",
			len(rows), byType, collector.Output())
	}
	if byType["EarlyView"] != 1 || byType["EarlyClick"] != 1 || byType["MidLoad"] != 1 {
		t.Errorf("calls made before the module was ready were not replayed once each: %v", byType)
	}
	if _, ok := byID[midID]; !ok {
		t.Errorf("the MidLoad promise resolved to %q, which is not a stored eventId", midID)
	}

	sessions := make(map[string]bool)
	for i, id := range ids {
		r, ok := byID[id]
		if !ok {
			t.Errorf("call %d: eventId %q not stored", i, id)
			continue
		}
		sessions[r.SessionID] = true
		wantType := "View"
		if i%2 == 1 {
			wantType = "MovieRating"
		}
		if r.EventType != wantType {
			t.Errorf("call %d: eventType %q, want %q", i, r.EventType, wantType)
		}
		var props map[string]any
		if err := json.Unmarshal([]byte(r.Properties.String), &props); err != nil {
			t.Errorf("call %d: properties %q: %v", i, r.Properties.String, err)
		}
		wantLabel := fmt.Sprintf("événement \"%d\" <b>", i)
		if props["n"] != float64(i) || props["label"] != wantLabel || props["even"] != (i%2 == 0) {
			t.Errorf("call %d: properties %v", i, props)
		}
		checkOptional(t, i, "itemId", r.ItemID.Valid, i%3 == 0, r.ItemID.String, fmt.Sprintf("movie%d", i))
		if (i%4 == 0) != r.EventValue.Valid || (r.EventValue.Valid && r.EventValue.Float64 != float64(i)/2) {
			t.Errorf("call %d: eventValue %+v", i, r.EventValue)
		}
		checkOptional(t, i, "impression", r.Impression.Valid, i%5 == 0, r.Impression.String,
			fmt.Sprintf(`["movie1","movie2","movie%d"]`, i))
		checkOptional(t, i, "recommendationId", r.RecommendationID.Valid, i == 7, r.RecommendationID.String, "rec-7")
		checkOptional(t, i, "userId", r.UserID.Valid, i >= 10, r.UserID.String, "user-42")
		if i == 8 && id != "explicit-id-8" {
			t.Errorf("explicit eventId not kept: %q", id)
		}
		// sentAt comes from the browser's clock at the call, within the
		// window of this test (same machine, so the clocks agree).
		sent := time.UnixMilli(r.SentAtMs)
		if sent.Before(start.Truncate(time.Millisecond)) || sent.After(end) {
			t.Errorf("call %d: sentAt %v outside the test's window [%v, %v]", i, sent, start, end)
		}
		if r.ReceivedAtMs < r.SentAtMs-1000 {
			t.Errorf("call %d: received %d long before sent %d", i, r.ReceivedAtMs, r.SentAtMs)
		}
	}
	if len(sessions) != 1 {
		t.Errorf("one page visit used %d sessions", len(sessions))
	}
}

func checkOptional(t *testing.T, call int, field string, present, wantPresent bool, got, want string) {
	t.Helper()
	if present != wantPresent || (present && got != want) {
		t.Errorf("call %d: %s present=%v %q, want present=%v %q", call, field, present, got, wantPresent, want)
	}
}

func TestInvalidCallRejectsInPageAndStoresNothing(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("e2e-invalid", site.URL)
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", fmt.Sprintf(plainPage, collector.URL, tid))))
	browsertest.Eval[bool](t, ctx, `tracklet.ready.then(() => true)`)

	tests := []struct{ call, field string }{
		{`tracklet.track("")`, "eventType"},
		{`tracklet.track("x".repeat(257))`, "eventType"},
		{`tracklet.track("View", {item_id: "a"})`, "properties"},
		{`tracklet.track("View", {nested: {a: 1}})`, "properties"},
		{`tracklet.track("View", {}, {itemId: ""})`, "itemId"},
		{`tracklet.track("View", {}, {eventValue: NaN})`, "eventValue"},
		{`tracklet.track("View", {}, {impression: Array(26).fill("m")})`, "impression"},
		{`tracklet.track("View", {s: "x".repeat(1100)})`, "properties"},
	}
	for _, tt := range tests {
		msg := browsertest.Eval[string](t, ctx, tt.call+`.then(() => "resolved", (e) => e instanceof Error ? e.message : "not an Error: " + e)`)
		if !strings.HasPrefix(msg, tt.field+":") {
			t.Errorf("%s: rejected with %q, want a message naming %s", tt.call, msg, tt.field)
		}
	}
	// One valid event after the invalid ones proves the tracker still works
	// and gives the store something to compare with.
	id := browsertest.Eval[string](t, ctx, `tracklet.track("AfterInvalid")`)
	// The flush waits for any send under way; once it is done and nothing
	// is queued, every request the page made has been answered: the store
	// holds all it ever will of this page, and an invalid event that got
	// out would have been refused there and counted as dropped here.
	s := browsertest.Eval[map[string]int](t, ctx, `tracklet.flush().then(() => tracklet.stats())`)
	if s["queued"] != 0 || s["sent"] != 1 || s["dropped"] != 0 {
		t.Errorf("stats after flush(): %v, want the valid event sent, nothing queued or dropped", s)
	}
	rows := collector.Events(ctx, tid)
	if len(rows) != 1 || rows[0].EventID != id || rows[0].EventType != "AfterInvalid" {
		t.Fatalf("store holds %+v, want only the valid event %s", rows, id)
	}
}
