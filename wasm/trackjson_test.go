//go:build js && wasm

package main

import (
	"encoding/json"
	"syscall/js"
	"testing"
)

// trackJSON takes the loader's plain calls in one string and answers, per
// call, what trackMany would settle its promise with.
func TestTrackJSON(t *testing.T) {
	c := startNodeCollector(t)
	api := create(t, map[string]any{"endpoint": c.url, "flushInterval": 60000})
	out := api.Call("trackJSON", `[
		["View", {"page": "/a", "n": 1, "ok": true}, {"itemId": "i1", "eventValue": 2.5, "impression": ["i1", "i2"], "eventId": "mine", "sentAt": 1714979289123}, 1714979000000],
		["Plain", null, null, 1714979000000],
		["Bad", {"bad_key": 1}, null, 1714979000000],
		[null, null, {"itemId": null}, 1714979000000]
	]`)
	if out.Type() != js.TypeString {
		t.Fatalf("trackJSON returned %v", out)
	}
	var got []any
	if err := json.Unmarshal([]byte(out.String()), &got); err != nil || len(got) != 4 {
		t.Fatalf("outcomes %s: %v", out.String(), err)
	}
	if got[0] != "mine" {
		t.Errorf("first outcome %v, want its eventId", got[0])
	}
	if _, ok := got[1].(string); !ok {
		t.Errorf("second outcome %v, want an eventId", got[1])
	}
	if e, _ := got[2].(map[string]any); e["error"] != `properties: key "bad_key" is not camelCase` {
		t.Errorf("third outcome %v", got[2])
	}
	if e, _ := got[3].(map[string]any); e["error"] != "eventType: missing or empty" {
		t.Errorf("fourth outcome %v", got[3])
	}
	if sent, _ := flush(t, api); sent != 2 {
		t.Fatalf("sent %d, want 2", sent)
	}
	reqs := c.requests(t)
	ev := reqs[0].EventList[0]
	if ev.EventType != "View" || *ev.Properties != `{"n":1,"ok":true,"page":"/a"}` || *ev.ItemID != "i1" ||
		*ev.EventValue != 2.5 || len(ev.Impression) != 2 || ev.SentAt.UnixMilli() != 1714979289123 {
		t.Errorf("first event %+v", ev)
	}
	if ev := reqs[0].EventList[1]; ev.EventType != "Plain" || ev.SentAt.UnixMilli() != 1714979000000 {
		t.Errorf("second event %+v: sentAt should be the call's time", ev)
	}
}

// A batch not in the loader's plain form is refused whole, before any of
// its calls is tracked: the loader then hands them over one by one.
func TestTrackJSONRefusesWhatIsNotPlain(t *testing.T) {
	api := create(t, nil)
	for _, batch := range []string{
		`not json`,
		`[["A", null, null, 1], ["B", {"nested": {"x": 1}}, null, 1]]`,
		`[["A", null, null, 1], ["B", null, {"typo": "x"}, 1]]`,
		`[["A", null, null, 1], ["B", null, {"toString": null}, 1]]`,
		`[["A", null, null, 1], ["B", null, {"itemId": 7}, 1]]`,
		`[["A", null, null, 1], [7, null, null, 1]]`,
		`[["A", null, null, 1], ["B", null, null, "now"]]`,
	} {
		if out := api.Call("trackJSON", batch); !isError(out) {
			t.Errorf("trackJSON(%s) = %v, want an Error", batch, out)
		}
	}
	if q := api.Call("stats").Get("queued").Int(); q != 0 {
		t.Errorf("queued %d events of refused batches", q)
	}
}
