package web_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/web/browsertest"
)

// The module runs in its Worker: the page never holds the Go runtime
// (window.__trackletWasm stays undefined), yet every function of the API
// answers as it does with the module on the page, the ones that answer at
// once included.
func TestTrackerModuleRunsInItsWorker(t *testing.T) {
	ctx, collector, tid := openShop(t, "offthread")

	type outcome struct {
		OnPage          bool
		Session, Reset  string
		IDs             []string
		Sent            []string
		Stats           map[string]int
		Consent         string
		AfterReset      string
		BadIdentify     bool
		StillOnPage     bool
		Built           map[string]any
		Invalid         string
		OnPageAfterward bool
	}
	got := browsertest.Eval[outcome](t, ctx, `(async () => {
  await tracklet.ready;
  const out = {OnPage: typeof window.__trackletWasm !== "undefined"};
  const sent = [];
  tracklet.on("sent", (n) => sent.push(...n.eventIds));
  out.Session = tracklet.sessionId();
  out.Consent = tracklet.consentState();
  tracklet.identify("alice");
  const ids = [await tracklet.track("AsAlice", {n: 1})];
  // Refused by the module in the Worker: reported, and alice stays.
  tracklet.identify("x".repeat(100000));
  ids.push(await tracklet.track("StillAlice", {n: 2}));
  await tracklet.flush();
  out.Stats = tracklet.stats();
  tracklet.reset();
  out.Reset = tracklet.sessionId();
  ids.push(await tracklet.track("AfterReset", {n: 3}));
  await tracklet.flush();
  out.AfterReset = tracklet.sessionId();
  out.IDs = ids;
  out.StillOnPage = typeof window.__trackletWasm !== "undefined";
  out.Built = tracklet.buildEvent("Built", {a: "b"}, {itemId: "i1", sentAt: 1700000000123});
  out.Invalid = tracklet.validate({eventType: "", sentAt: 1});
  out.OnPageAfterward = typeof window.__trackletWasm !== "undefined";
  while (sent.length < 3) await new Promise((r) => tracklet.on("sent", r));
  out.Sent = sent;
  return out;
})()`)
	if got.OnPage || got.StillOnPage {
		t.Errorf("the Go runtime is on the page (before buildEvent: %v, after the calls: %v)", got.OnPage, got.StillOnPage)
	}
	if !got.OnPageAfterward {
		t.Error("buildEvent answered without the module on the page")
	}
	if got.Consent != "granted" || got.Session == "" || got.Reset == got.Session || got.AfterReset != got.Reset {
		t.Errorf("session %q, after reset %q then %q; consent %q", got.Session, got.Reset, got.AfterReset, got.Consent)
	}
	if s := got.Stats; s["sent"] != 2 || s["queued"] != 0 || s["stored"] != 0 {
		t.Errorf("stats after the first flush: %v", s)
	}
	if got.Built["eventType"] != "Built" || got.Built["itemId"] != "i1" || got.Built["properties"] != `{"a":"b"}` || got.Built["sentAt"] != 1700000000.123 {
		t.Errorf("buildEvent = %v", got.Built)
	}
	if got.Invalid == "" {
		t.Error("validate found nothing wrong with an empty eventType")
	}
	if len(got.Sent) != 3 {
		t.Errorf("sent notices for %v, want the 3 events", got.Sent)
	}

	rows := waitStored(t, ctx, collector, tid, got.IDs, 10*time.Second)
	byType := map[string]browsertest.Row{}
	for _, r := range rows {
		byType[r.EventType] = r
	}
	for _, typ := range []string{"AsAlice", "StillAlice"} {
		if r := byType[typ]; r.UserID.String != "alice" || r.SessionID != got.Session {
			t.Errorf("%s: user %q session %q, want alice in %q", typ, r.UserID.String, r.SessionID, got.Session)
		}
	}
	if r := byType["AfterReset"]; r.UserID.Valid || r.SessionID != got.Reset {
		t.Errorf("AfterReset: user %v session %q, want none in %q", r.UserID, r.SessionID, got.Reset)
	}

	// The Worker is there, named for the tracker.
	var workers []string
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range infos {
		if ti.Type == "worker" {
			workers = append(workers, ti.Title+" "+ti.URL)
		}
	}
	if len(workers) != 1 {
		t.Errorf("workers %q, want the module's", workers)
	}
	noPageErrors(t, ctx)
}

// A call the module refuses is refused with the same words whether the
// module runs in its Worker or on the page, arguments the browser cannot
// copy to a Worker (functions, symbols, DOM nodes) included.
func TestTrackerRefusesAlikeInTheWorkerAndOnThePage(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("alike", site.URL)
	calls := `(async () => {
  await tracklet.ready;
  const calls = [
    () => tracklet.track(""),
    () => tracklet.track(42),
    () => tracklet.track("F", {f: function () {}}),
    () => tracklet.track("S", {s: Symbol("x")}),
    () => tracklet.track("N", {node: document.body}),
    () => tracklet.track("O", {o: {nested: true}}),
    () => tracklet.track("D", {d: new Date(0)}),
    () => tracklet.track("U", {}, {itemID: "typo"}),
    () => tracklet.track("I", {}, {impression: [() => 1]}),
    () => tracklet.track("V", {}, {eventValue: NaN}),
  ];
  const out = [];
  for (const c of calls) {
    try { out.push("resolved " + await c()); } catch (e) { out.push(String(e.message)); }
  }
  return {onPage: typeof window.__trackletWasm !== "undefined", out};
})()`
	type result struct {
		OnPage bool
		Out    []string
	}
	run := func(path, attrs string) result {
		browsertest.Do(t, ctx, chromedp.Navigate(site.Page(path, trackerPage(collector.URL, tid, collector.URL, attrs, ""))))
		return browsertest.Eval[result](t, ctx, calls)
	}
	inWorker, onPage := run("/worker", ""), run("/page", `data-worker="false"`)
	if inWorker.OnPage || !onPage.OnPage {
		t.Fatalf("module on the page: %v with the Worker, %v without", inWorker.OnPage, onPage.OnPage)
	}
	w, _ := json.MarshalIndent(inWorker.Out, "", "  ")
	p, _ := json.MarshalIndent(onPage.Out, "", "  ")
	if string(w) != string(p) {
		t.Errorf("in the Worker:\n%s\non the page:\n%s", w, p)
	}
	noPageErrors(t, ctx)
}
