package web_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/web/browsertest"
)

// wireCalls are track calls of every kind the loader may form into events
// itself: properties of each type and unicode, every option. Each has its
// eventId and sentAt, so that the loader's event and the module's can be
// compared byte for byte. The last three are invalid: the module rejects
// them, the collector rejects the loader's.
const wireCalls = `[
  ["Plain", null, {eventId: "wire-plain", sentAt: 1714979289123}],
  ["Props", {s: "text", i: 42, f: 4.25, neg: -0.5, big: 1e21, mil: 1e6, kilo: 123456, small: 1e-7, tiny: 0.0001, yes: true, no: false, zero: 0}, {eventId: "wire-props", sentAt: 1714979289000}],
  ["Unicode ✓ é", {text: "é 👋 <a href='x'>&amp;</a> \u2028\u2029 \"q\" \\ \n\t\u0001\u001f \ud800 lone \udc00", han: "漢字"}, {eventId: "wire-unicode", itemId: "itém-1", sentAt: 1714979289100}],
  ["Options", {}, {eventId: "wire-options", itemId: "movie1", eventValue: 4.5, impression: ["a", "b", "c"], recommendationId: "rec-1", metricAttribution: "email", sentAt: 1714979289123.7}],
  ["Values", null, {eventId: "wire-values", eventValue: 1e21, sentAt: 1714979289010}],
  ["SmallValue", {z: 0}, {eventId: "wire-small", eventValue: -1.5e-7, sentAt: 1714979289001}],
  ["Sorted", {zeta: 1, alpha: 2, mid: 3, aB: 4, ab: 5, a1: 6}, {eventId: "wire-sorted", sentAt: 1714979289999}],
  ["", null, {eventId: "wire-bad-type", sentAt: 1714979289123}],
  ["BadKey", {bad_key: 1}, {eventId: "wire-bad-key", sentAt: 1714979289123}],
  ["NoImpression", null, {eventId: "wire-no-impression", impression: [], sentAt: 1714979289123}]
]`

const wireValid = 7

// When the loader forms an event (the module has not run and the visitor
// leaves), it is byte for byte the event the module builds for the same
// call; an invalid one lands in the collector's rejected store with its
// reason and costs the valid ones nothing.
func TestTrackerLoaderFormsTheModulesEvents(t *testing.T) {
	st := newStage(t)
	ctx, collector, proxy, site := st.ctx, st.collector, st.proxy, st.site
	other := browsertest.NewSite(t)
	byLoader := collector.CreateTracker("wire-loader", site.URL)
	byModule := collector.CreateTracker("wire-module", site.URL)
	track := `(async () => {
  ` + loaderRan + `
  const errs = [];
  for (const c of ` + wireCalls + `) tracklet.track(...c).catch((e) => errs.push(c[2].eventId + ": " + e.message));
  await Promise.resolve();
  return errs;
})()`

	// The loader's: the module is held back, and the page is left.
	release := proxy.HoldModule()
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/loader", trackerPage(proxy.URL, byLoader, proxy.URL, `data-flush-interval="600000"`, ""))))
	browsertest.Eval[[]string](t, ctx, track)
	browsertest.Do(t, ctx, chromedp.Navigate(other.Page("/", `<!doctype html><p>elsewhere</p>`)))
	release()
	rows := collector.WaitForEvents(ctx, byLoader, wireValid, 10*time.Second)
	if len(rows) != wireValid {
		t.Fatalf("the collector stored %d of the loader's %d valid events", len(rows), wireValid)
	}
	var rejected []browsertest.Rejection
	for deadline := time.Now().Add(10 * time.Second); len(rejected) < 3 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		rejected = collector.Rejected(ctx, byLoader)
	}
	reasons := map[string]string{}
	for _, r := range rejected {
		for _, id := range []string{"wire-bad-type", "wire-bad-key", "wire-no-impression"} {
			if strings.Contains(r.Body, `"`+id+`"`) {
				reasons[id] = r.Reason
			}
		}
	}
	if !strings.Contains(reasons["wire-bad-type"], "eventType") || !strings.Contains(reasons["wire-bad-key"], `"bad_key" is not camelCase`) ||
		!strings.Contains(reasons["wire-no-impression"], "impression") {
		t.Errorf("rejected store: %+v", rejected)
	}

	// The module's, uncompressed so that the proxy reads them.
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/module", trackerPage(proxy.URL, byModule, proxy.URL, `data-compress="false"`, ""))))
	browsertest.Eval[bool](t, ctx, `tracklet.ready.then(() => true)`)
	errs := browsertest.Eval[[]string](t, ctx, `(async () => {
  const errs = [];
  await Promise.all(`+wireCalls+`.map((c) => tracklet.track(...c).catch((e) => errs.push(c[2].eventId + ": " + e.message))));
  await tracklet.flush();
  return errs;
})()`)
	if want := []string{"wire-bad-type: eventType: missing or empty", `wire-bad-key: properties: key "bad_key" is not camelCase`, "wire-no-impression: impression: empty list"}; strings.Join(errs, "|") != strings.Join(want, "|") {
		t.Errorf("the module rejected %q, want %q", errs, want)
	}

	events := map[string]map[string]string{} // trackingId → eventId → event JSON
	for _, body := range proxy.Bodies() {
		var req struct {
			TrackingID string            `json:"trackingId"`
			EventList  []json.RawMessage `json:"eventList"`
		}
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		if events[req.TrackingID] == nil {
			events[req.TrackingID] = map[string]string{}
		}
		for _, raw := range req.EventList {
			var ev struct {
				EventID string `json:"eventId"`
			}
			json.Unmarshal(raw, &ev)
			events[req.TrackingID][ev.EventID] = string(raw)
		}
	}
	if n := len(events[byModule]); n != wireValid {
		t.Errorf("the module sent %d events, want %d", n, wireValid)
	}
	for id, want := range events[byModule] {
		got, ok := events[byLoader][id]
		if !ok {
			t.Errorf("%s: the loader sent no such event", id)
			continue
		}
		if got != want {
			t.Errorf("%s: the loader sent\n%s\nthe module\n%s", id, got, want)
		}
	}
}
