package web_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tracklet/tracklet/web/browsertest"
)

// The loader hands calls to the module as JSON, describing what JSON
// cannot carry (js/src/calls.js encodeCalls, wasm/tracker/call.go): each
// such value is judged as the value itself, with the module's words, in
// the Worker and on the page.
func TestTrackerEncodesWhatJSONCannotCarry(t *testing.T) {
	ctx := browsertest.Browser(t)
	collector := browsertest.StartCollector(t)
	site := browsertest.NewSite(t)
	tid := collector.CreateTracker("encode", site.URL)
	cases := []struct {
		call string // JavaScript
		want string // the outcome's start
	}{
		{`tracklet.track("E", {a: NaN})`, `properties: key "a" is not a finite number`},
		{`tracklet.track("E", {a: undefined})`, `properties: key "a" is not a string, number or boolean`},
		{`tracklet.track("E", {n: 10n})`, `properties: key "n" is not a string, number or boolean`},
		{`tracklet.track("E", (() => { const o = {}; o.self = o; return o; })())`, `properties: key "self" is not a string, number or boolean`},
		{`tracklet.track("E", {"\u0000": "function"})`, `properties: key "`},
		{`tracklet.track("E", new Date())`, "resolved"},
		{`tracklet.track(Symbol("x"))`, "eventType: must be a string"},
		{`tracklet.track(undefined)`, "eventType: missing or empty"},
		{`tracklet.track("E", {}, {typo: undefined})`, "options.typo: unknown option"},
		{`tracklet.track("E", {}, {eventValue: -Infinity})`, "eventValue: not a finite number"},
		{`tracklet.track("E", {}, {impression: ["a", {x: 1}]})`, "impression[1]: must be a string"},
		{`tracklet.track("E", {}, {sentAt: new Date("nonsense")})`, "sentAt: not a finite number (an invalid Date?)"},
		{`tracklet.track("E", {}, {sentAt: new Date(1714979289123)})`, "resolved"},
		{`tracklet.track("E", {}, new Map([["typo", 1]]))`, "resolved"}, // a Map's entries are no members
		{`tracklet.buildEvent("E", {a: -0, b: 1}).properties`, `resolved {"a":-0,"b":1}`},
		{`tracklet.buildEvent("E", {}, {sentAt: new Date(1714979289123)}).sentAt`, "resolved 1714979289.123"},
	}
	var src strings.Builder
	src.WriteString("(async () => {\n  await tracklet.ready;\n  const out = [];\n")
	for _, c := range cases {
		src.WriteString("  try { out.push(\"resolved \" + await " + c.call + "); } catch (e) { out.push(String(e.message)); }\n")
	}
	src.WriteString("  return out;\n})()")
	for _, mode := range []struct{ path, attrs string }{{"/worker", ""}, {"/page", `data-worker="false"`}} {
		browsertest.Do(t, ctx, chromedp.Navigate(site.Page(mode.path, trackerPage(collector.URL, tid, collector.URL, mode.attrs, ""))))
		out := browsertest.Eval[[]string](t, ctx, src.String())
		for i, c := range cases {
			if i >= len(out) || !strings.HasPrefix(out[i], c.want) {
				t.Errorf("%s: %s gave %q, want %q", mode.path, c.call, out[i], c.want)
			}
		}
		noPageErrors(t, ctx)
	}

	// A call the journal cannot write as JSON (a bigint) leaves the
	// journal to the calls of the same task that it can.
	browsertest.Do(t, ctx, chromedp.Navigate(site.Page("/journal", trackerPage(collector.URL, tid, collector.URL, "", ""))))
	ids := browsertest.Eval[[]string](t, ctx, `(async () => {
  `+loaderRan+`
  tracklet.track("E", {n: 10n}).catch(() => {});
  tracklet.track("E", {a: "b"}, {eventId: "kept-beside-a-bigint"});
  await Promise.resolve(); // the journal is written when the task's calls are done
  return `+journalIDs(tid)+`;
})()`)
	if !slices.Contains(ids, "kept-beside-a-bigint") {
		t.Errorf("the journal holds %q, want the call tracked beside the bigint's", ids)
	}
	noPageErrors(t, ctx)
}
