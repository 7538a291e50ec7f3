package js_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// eventTypes returns the types of every event the collector stored, in
// arrival order.
func (a *assets) eventTypes() []string {
	var out []string
	for _, r := range a.requests() {
		for _, e := range r.EventList {
			out = append(out, e.EventType)
		}
	}
	return out
}

func waitEvents(t *testing.T, a *assets, n int) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for len(a.eventTypes()) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return a.eventTypes()
}

func TestESModuleCreateTracker(t *testing.T) {
	a := newAssets(t, "application/wasm")
	url := page(t, `<!doctype html><script type="module">
import { createTracker } from "`+a.URL+`/static/tracklet.mjs";
window.result = (async () => {
	let bad;
	try { await createTracker({}); } catch (e) { bad = e.message; }
	const t1 = await createTracker({ trackingId: "esm-1" });
	const t2 = await createTracker({ trackingId: "esm-2", storage: false });
	await t1.track("One");
	await t2.track("Two");
	let threw;
	try { t1.identify(""); } catch (e) { threw = e.message; }
	return { bad, threw, sent: (await t1.flush()).sent + (await t2.flush()).sent };
})();
</script>`)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Bad, Threw string
		Sent       int
	}
	if err := evaluate(ctx, `(async () => { while (!window.result) await new Promise((r) => setTimeout(r, 10)); return await window.result; })()`, &got); err != nil {
		t.Fatal(err)
	}
	if got.Bad != "tracklet: trackingId: missing or empty" || got.Threw != "userId: missing or empty" || got.Sent != 2 {
		t.Errorf("got %+v", got)
	}
	var ids []string
	for _, r := range a.requests() {
		ids = append(ids, r.TrackingID)
	}
	sort.Strings(ids)
	if strings.Join(ids, ",") != "esm-1,esm-2" {
		t.Errorf("tracking ids %v", ids)
	}
}

func TestEventsSurviveAReloadWhileTheCollectorIsDown(t *testing.T) {
	a := newAssets(t, "application/wasm")
	a.status.Store(503)
	url := page(t, `<!doctype html><script async src="`+a.URL+`/static/tracklet.js" data-tracking-id="tid" data-flush-interval="100"></script>`)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	var stored int
	if err := evaluate(ctx, `(async () => {
		await tracklet.ready;
		for (const n of ["A", "B", "C"]) await tracklet.track(n);
		await tracklet.flush(); // refused with 503: kept
		return tracklet.stats().stored;
	})()`, &stored); err != nil {
		t.Fatal(err)
	}
	if stored != 3 {
		t.Fatalf("stored = %d before the reload", stored)
	}
	a.status.Store(0) // the collector is back
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	var after int
	if err := evaluate(ctx, `(async () => {
		await tracklet.ready;
		await tracklet.track("D");
		await tracklet.flush();
		return tracklet.stats().stored;
	})()`, &after); err != nil {
		t.Fatal(err)
	}
	// The page being left handed A, B and C to keepalive requests; they
	// stayed saved because it could not hear the answer, so the new page
	// may send them again, with the same eventIds, which the collector's
	// dedup absorbs. Nothing is lost and nothing is stored twice.
	waitEvents(t, a, 4)
	byID := map[string]string{}
	for _, r := range a.requests() {
		for _, e := range r.EventList {
			if prev, ok := byID[*e.EventID]; ok && prev != e.EventType {
				t.Errorf("eventId %s reused for %s and %s", *e.EventID, prev, e.EventType)
			}
			byID[*e.EventID] = e.EventType
		}
	}
	var types []string
	for _, typ := range byID {
		types = append(types, typ)
	}
	sort.Strings(types)
	if strings.Join(types, "") != "ABCD" || after != 0 {
		t.Errorf("distinct events %v, page still stores %d", types, after)
	}
}

func TestNavigatingAwayRightAfterTrackDelivers(t *testing.T) {
	a := newAssets(t, "application/wasm")
	next := page(t, `<!doctype html><p>elsewhere</p>`)
	url := page(t, `<!doctype html><script async src="`+a.URL+`/static/tracklet.js" data-tracking-id="tid" data-flush-interval="60000"></script>`)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	// Tracked and gone in the same task: only pagehide can send them.
	if err := evaluate(ctx, `(async () => {
		await tracklet.ready;
		for (let i = 0; i < 25; i++) tracklet.track("Leave", {n: i});
		location.href = "`+next+`";
		return 0;
	})()`, new(int)); err != nil {
		t.Fatal(err)
	}
	if got := waitEvents(t, a, 25); len(got) != 25 {
		t.Errorf("collector has %d of 25 events", len(got))
	}
	time.Sleep(200 * time.Millisecond)
	if got := a.eventTypes(); len(got) != 25 {
		t.Errorf("collector has %d events, want exactly 25", len(got))
	}
}
