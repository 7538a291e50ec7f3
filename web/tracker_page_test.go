package web_test

// Issue 4's tests of what the page does to delivery: leaving it, opening it
// twice, taking its storage away, withholding consent. Each ends by reading
// the real collector's store.

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

func TestTrackerNavigatingAwayRightAfterTrackDelivers(t *testing.T) {
	ctx := browsertest.Browser(t)
	// Unload sends its batches all at once; the collector's default
	// per-tracker burst must take them.
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("leave", site.URL)
	next := site.Page("/next", `<!doctype html><p>elsewhere, without the tracker</p>`)
	// No interval flush for a minute: only pagehide can send these.
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", trackerPage(collector.URL, tid, collector.URL, `data-flush-interval="60000"`, ""))))

	// Tracked and gone in the same task. The eventIds are chosen here: the
	// page is gone before it could report the generated ones.
	browsertest.Eval[bool](t, ctx, `tracklet.ready.then(() => true)`)
	var ids []string
	for i := range 25 {
		ids = append(ids, fmt.Sprintf("leave-%d-%d", time.Now().UnixNano(), i))
	}
	browsertest.Eval[bool](t, ctx, fmt.Sprintf(`(() => {
  const ids = %q.split(",");
  ids.forEach((id, i) => tracklet.track("Leave", {n: i}, {eventId: id}));
  location.href = %q;
  return true;
})()`, strings.Join(ids, ","), next))
	waitStored(t, ctx, collector, tid, ids, 10*time.Second)
}

func TestTrackerTwoTabsOfOneSiteNeverSendAnEventTwice(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	proxy := browsertest.NewProxy(t, collector.URL)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("tabs", site.URL)
	// Attempts without end for the test's span: tab A keeps retrying through
	// the refusals however long a loaded machine takes to open tab B, so
	// what is checked is the lease, not how many retries fit in that time.
	url := site.Page("/", trackerPage(collector.URL, tid, proxy.URL, fastRetries+` data-max-attempts="100000"`, ""))
	failing := func(*http.Request) int { return http.StatusServiceUnavailable }

	// While the collector refuses, tab A saves its events; tab B, opened
	// meanwhile, must leave them to A, whose lease is alive.
	proxy.Fail(failing)
	tabA := ctx
	browsertest.Do(t, tabA, chromedp.Navigate(url))
	ids := browsertest.Eval[[]string](t, tabA, trackN("TabA", 10))
	tabB := browsertest.NewTab(t, ctx)
	browsertest.Do(t, tabB, chromedp.Navigate(url))
	if q := browsertest.Eval[int](t, tabB, `tracklet.ready.then((t) => t.stats().queued)`); q != 0 {
		t.Errorf("tab B took %d events of the live tab A", q)
	}
	ids = append(ids, browsertest.Eval[[]string](t, tabB, trackN("TabB", 10))...)
	for name, tab := range map[string]context.Context{"A": tabA, "B": tabB} {
		if s := browsertest.Eval[map[string]int](t, tab, `tracklet.stats()`); s["stored"] != 10 {
			t.Errorf("tab %s keeps %d events in storage, want its own 10: %v", name, s["stored"], s)
		}
	}
	proxy.Fail(nil)
	waitStored(t, ctx, collector, tid, ids, 10*time.Second)

	// A third tab closes with events it could not send: its lease ends with
	// it, and the next page of the site sends them, once.
	proxy.Fail(failing)
	tabC, closeC := chromedp.NewContext(ctx)
	defer closeC()
	// Open the tab with no timeout: one on its first action would end it.
	if err := chromedp.Do(tabC); err != nil {
		t.Fatal(err)
	}
	browsertest.Do(t, tabC, chromedp.Navigate(url))
	ids = append(ids, browsertest.Eval[[]string](t, tabC, trackN("TabC", 5))...)
	browsertest.Eval[map[string]int](t, tabC, `tracklet.flush()`)
	closeC()
	// Closing it gave up its lease (pagehide): the live tabs see the key
	// go, and then what it saved is the next page's to send.
	if n := browsertest.Eval[int](t, tabB, leasesAtMost(2)); n != 2 {
		t.Errorf("%d tabs hold a lease after tab C closed, want A and B", n)
	}
	if n := browsertest.Eval[int](t, tabB, `Object.keys(localStorage).reduce((n, k) => n + (k.includes(":b:") ? JSON.parse(localStorage.getItem(k)).length : 0), 0)`); n != 5 {
		t.Errorf("the closed tab left %d events in storage, want its 5", n)
	}
	proxy.Fail(nil)
	browsertest.Do(t, tabB, chromedp.Reload())
	browsertest.Eval[bool](t, tabB, `tracklet.ready.then(() => true)`)
	waitStored(t, ctx, collector, tid, ids, 10*time.Second)
	sentOnce(t, collector, tabA, tabB)
	noPageErrors(t, tabA)
}

// leasesAtMost is page code that resolves, with their number, once at most
// n tabs of the page's trackers hold a lease in localStorage; it waits on
// the storage events other tabs cause.
func leasesAtMost(n int) string {
	return fmt.Sprintf(`new Promise((resolve) => {
  const leases = () => Object.keys(localStorage).filter((k) => k.startsWith("tracklet:") && k.includes(":t:")).length;
  const check = () => { if (leases() <= %d) { removeEventListener("storage", check); resolve(leases()); } };
  addEventListener("storage", check);
  check();
})`, n)
}

func TestTrackerWithoutUsableStorage(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	proxy := browsertest.NewProxy(t, collector.URL)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("storage", site.URL)

	tests := []struct {
		name, head string
		wantErrors bool // stats().storageErrors > 0
	}{
		// Private modes and blocked cookies make the very getter throw.
		{"disabled", `<script>Object.defineProperty(window, "localStorage", {get() { throw new DOMException("The operation is insecure.", "SecurityError"); }});</script>`, false},
		// The host page filled the origin's quota (10 MB in Chromium).
		{"full", `<script>
(() => {
  let chunk = "x".repeat(1 << 20), i = 0;
  while (chunk.length > 0) {
    try { localStorage.setItem("filler" + i++, chunk); } catch (e) { chunk = chunk.slice(0, chunk.length >> 1); }
  }
})();
</script>`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(collector.Events(ctx, tid))
			// The collector refuses at first, so that the events must wait
			// somewhere: in memory, as storage takes nothing.
			proxy.Fail(func(*http.Request) int { return http.StatusServiceUnavailable })
			browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/"+tt.name, trackerPage(collector.URL, tid, proxy.URL, fastRetries, tt.head))))
			ids := browsertest.Eval[[]string](t, ctx, trackN("NoStorage", 15))
			browsertest.Eval[map[string]int](t, ctx, `tracklet.flush()`)
			s := browsertest.Eval[map[string]int](t, ctx, `tracklet.stats()`)
			if s["stored"] != 0 || s["queued"] != 15 || (s["storageErrors"] > 0) != tt.wantErrors {
				t.Errorf("stats with storage %s: %v", tt.name, s)
			}
			proxy.Fail(nil)
			collector.WaitForEvents(ctx, tid, before+15, 10*time.Second)
			rows := collector.Events(ctx, tid)[before:]
			checkExactlyOnce(t, rows, ids)
			sentOnce(t, collector, ctx)
			noPageErrors(t, ctx)
			browsertest.Eval[bool](t, ctx, `(() => { try { localStorage.clear(); } catch (e) {} return true; })()`)
		})
	}
}

func TestTrackerConsent(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	proxy := browsertest.NewProxy(t, collector.URL)
	site := browsertest.NewSite(t)
	granted := collector.CreateTracker("consent-granted", site.URL)
	denied := collector.CreateTracker("consent-denied", site.URL)
	const attrs = fastRetries + ` data-consent="pending"`
	// savedKeys counts the items of saved events in localStorage: batches
	// (b:) as the store writes them, single events (e:) as older pages did.
	const savedKeys = `Object.keys(localStorage).filter((k) => k.startsWith("tracklet:") && /:[be]:/.test(k)).length`

	// Pending: tracked, kept in memory, not sent, not saved.
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/granted", trackerPage(collector.URL, granted, proxy.URL, attrs, ""))))
	ids := browsertest.Eval[[]string](t, ctx, trackN("Pending", 5))
	// Pending consent arms no flush timer; an explicit flush, awaited
	// (it waits for any send under way), is refused without a request.
	if r := browsertest.Eval[map[string]int](t, ctx, `tracklet.flush()`); r["sent"] != 0 || r["failed"] != 0 {
		t.Errorf("flush() while consent was pending: %v, want nothing sent or tried", r)
	}
	if s := browsertest.Eval[map[string]int](t, ctx, `tracklet.stats()`); s["queued"] != 5 || s["stored"] != 0 {
		t.Errorf("stats while consent was pending: %v, want 5 queued in memory, none stored", s)
	}
	if byRoute, _ := proxy.Requests(); byRoute["POST /events"] != 0 {
		t.Errorf("%d requests sent while consent was pending", byRoute["POST /events"])
	}
	if n := browsertest.Eval[int](t, ctx, savedKeys); n != 0 {
		t.Errorf("%d events saved in localStorage while consent was pending", n)
	}
	if st := browsertest.Eval[string](t, ctx, `tracklet.consentState()`); st != "pending" {
		t.Errorf("consentState() = %q", st)
	}
	// Granted: what waited goes out, and so does what follows.
	browsertest.Eval[bool](t, ctx, `(tracklet.consent(true), true)`)
	ids = append(ids, browsertest.Eval[[]string](t, ctx, trackN("Granted", 2))...)
	waitStored(t, ctx, collector, granted, ids, 10*time.Second)

	// Denied: what waited is discarded; later calls record nothing.
	proxy.Reset()
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/denied", trackerPage(collector.URL, denied, proxy.URL, attrs, ""))))
	browsertest.Eval[[]string](t, ctx, trackN("Pending", 5))
	got := browsertest.Eval[[]any](t, ctx, `(async () => {
  tracklet.consent(false);
  const after = await tracklet.track("AfterDenial");
  await tracklet.flush();
  return [after, tracklet.consentState(), tracklet.stats().queued];
})()`)
	if len(got) != 3 || got[0] != nil || got[1] != "denied" || got[2] != float64(0) {
		t.Errorf("after consent(false): [track() result, consentState, queued] = %v, want [<nil> denied 0]", got)
	}
	// The awaited flush found nothing queued and no send under way: what
	// the page sent, the collector has answered.
	if byRoute, _ := proxy.Requests(); byRoute["POST /events"] != 0 {
		t.Errorf("%d requests sent after consent was denied", byRoute["POST /events"])
	}
	if rows := collector.Events(ctx, denied); len(rows) != 0 {
		t.Errorf("the collector stored %d events of a visitor who denied consent", len(rows))
	}
	if n := browsertest.Eval[int](t, ctx, savedKeys); n != 0 {
		t.Errorf("%d events left in localStorage after denial", n)
	}
	noPageErrors(t, ctx)
}

func TestTrackerESModuleCreateTracker(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	tid1 := collector.CreateTracker("esm-1", site.URL)
	tid2 := collector.CreateTracker("esm-2", site.URL)
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/", fmt.Sprintf(`<!doctype html><script type="module">
import { createTracker } from "%s/tracklet.mjs";
window.result = (async () => {
  let bad;
  try { await createTracker({}); } catch (e) { bad = e.message; }
  const t1 = await createTracker({ trackingId: %q });
  const t2 = await createTracker({ trackingId: %q, storage: false });
  const ids1 = [await t1.track("One"), await t1.track("Two")];
  const ids2 = [await t2.track("Three")];
  let threw;
  try { t1.identify(""); } catch (e) { threw = e.message; }
  return { bad, threw, ids1, ids2, sent: (await t1.flush()).sent + (await t2.flush()).sent };
})();
</script>`, collector.URL, tid1, tid2))))
	got := browsertest.Eval[struct {
		Bad, Threw string
		IDs1, IDs2 []string
		Sent       int
	}](t, ctx, `(async () => { while (!window.result) await new Promise((r) => setTimeout(r, 10)); return await window.result; })()`)
	if got.Bad != "tracklet: trackingId: missing or empty" || got.Threw != "userId: missing or empty" || got.Sent != 3 {
		t.Errorf("got %+v", got)
	}
	waitStored(t, ctx, collector, tid1, got.IDs1, 5*time.Second)
	waitStored(t, ctx, collector, tid2, got.IDs2, 5*time.Second)
}

// track() hands calls to the module in batches, later in a task of its
// own; what is stored must still be the call as the page made it then.
func TestTrackerBatchedCallsKeepTheirMomentAndValues(t *testing.T) {
	ctx, collector, tid := openShop(t, "batched")
	got := browsertest.Eval[struct {
		IDs    []string
		Before float64
		After  float64
	}](t, ctx, `(async () => {
  await tracklet.ready;
  const props = {step: "first"}, imp = ["a", "b"];
  const before = Date.now();
  const p1 = tracklet.track("Mutated", props, {impression: imp});
  const p2 = tracklet.track("Later", {step: "second"});
  props.step = "changed"; imp.push("c");
  const after = Date.now();
  while (Date.now() - after < 100) {} // the batch waits for this task to end
  const ids = await Promise.all([p1, p2]);
  await tracklet.flush();
  return {ids, before, after};
})()`)
	rows := waitStored(t, ctx, collector, tid, got.IDs, 5*time.Second)
	for _, r := range rows {
		if r.SentAtMs < int64(got.Before) || r.SentAtMs > int64(got.After) {
			t.Errorf("%s: sentAt %d is not the time of the call [%v, %v]", r.EventType, r.SentAtMs, got.Before, got.After)
		}
		if r.EventType == "Mutated" && (r.Properties.String != `{"step":"first"}` || r.Impression.String != `["a","b"]`) {
			t.Errorf("stored %s %s, not the values at the call", r.Properties.String, r.Impression.String)
		}
	}
}

// optOut is remembered across visits, and Global Privacy Control is an
// opt-out where the site asks for it to count (data-respect-gpc).
func TestTrackerOptOutIsRememberedAndGPCRespected(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("optout", site.URL)
	url := site.Page("/", trackerPage(collector.URL, tid, collector.URL, fastRetries, ""))

	browsertest.Do(t, ctx, chromedp.Navigate(url))
	browsertest.Eval[bool](t, ctx, `tracklet.ready.then((t) => (t.optOut(), true))`)
	browsertest.Do(t, ctx, chromedp.Reload())
	got := browsertest.Eval[[]any](t, ctx, `(async () => {
  await tracklet.ready;
  return [tracklet.consentState(), await tracklet.track("WhileOptedOut")];
})()`)
	if len(got) != 2 || got[0] != "denied" || got[1] != nil {
		t.Errorf("after optOut and a reload: [consentState, track()] = %v, want [denied <nil>]", got)
	}
	ids := browsertest.Eval[[]string](t, ctx, `(async () => {
  tracklet.optIn();
  return [await tracklet.track("AfterOptIn")];
})()`)

	// The browser sends GPC; a site that respects it tracks nothing.
	gpc := `<script>Object.defineProperty(Navigator.prototype, "globalPrivacyControl", {get: () => true});</script>`
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/gpc", trackerPage(collector.URL, tid, collector.URL, fastRetries+` data-respect-gpc="true"`, gpc))))
	got = browsertest.Eval[[]any](t, ctx, `(async () => {
  await tracklet.ready;
  return [tracklet.consentState(), await tracklet.track("UnderGPC")];
})()`)
	if len(got) != 2 || got[0] != "denied" || got[1] != nil {
		t.Errorf("with GPC respected: [consentState, track()] = %v, want [denied <nil>]", got)
	}
	// The same browser on a page that does not ask to respect it.
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/gpc-ignored", trackerPage(collector.URL, tid, collector.URL, fastRetries, gpc))))
	ids = append(ids, browsertest.Eval[[]string](t, ctx, trackN("GPCIgnored", 1))...)
	browsertest.Eval[map[string]int](t, ctx, `tracklet.flush()`)
	waitStored(t, ctx, collector, tid, ids, 10*time.Second)
}
