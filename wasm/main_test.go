//go:build js && wasm

package main

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/google/uuid"
)

// These tests run under Node (GOOS=js GOARCH=wasm go test) and call the
// module the way page code does: through the JavaScript objects it installs.

func TestMain(m *testing.M) {
	install(js.Global())
	os.Exit(m.Run())
}

// create returns a tracker api from __trackletWasm.create, failing the test
// when it returns an Error instead.
func create(t *testing.T, cfg map[string]any) js.Value {
	t.Helper()
	base := map[string]any{"trackingId": "tid-1", "endpoint": "http://127.0.0.1:9"}
	for k, v := range cfg {
		base[k] = v
	}
	api := js.Global().Get("__trackletWasm").Call("create", base)
	if isError(api) {
		t.Fatalf("create: %s", api.Get("message").String())
	}
	return api
}

func isError(v js.Value) bool {
	return v.Type() == js.TypeObject && v.InstanceOf(js.Global().Get("Error"))
}

// jsEval evaluates a JavaScript expression in the global scope.
func jsEval(src string) js.Value {
	return js.Global().Get("Function").New("return (" + src + ")").Invoke()
}

func TestCreateRejectsBadConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  string
		want string
	}{
		{`undefined`, "config: must be an object"},
		{`{endpoint: "http://x"}`, "trackingId: missing or empty"},
		{`{trackingId: "t"}`, "endpoint: missing or empty"},
		{`{trackingId: 7, endpoint: "http://x"}`, "trackingId: must be a string"},
		{`{trackingId: "t", endpoint: "http://x", batchSize: 11}`, "batchSize: must be between 1 and 10"},
		{`{trackingId: "t", endpoint: "http://x", batchSize: "ten"}`, "batchSize: must be a whole number"},
		{`{trackingId: "t", endpoint: "http://x", flushInterval: 1.5}`, "flushInterval: must be a whole number"},
	} {
		got := js.Global().Get("__trackletWasm").Call("create", jsEval(tt.cfg))
		if !isError(got) || got.Get("message").String() != tt.want {
			t.Errorf("create(%s) = %v, want Error %q", tt.cfg, got, tt.want)
		}
	}
	// data- attributes give numbers as strings.
	api := js.Global().Get("__trackletWasm").Call("create", jsEval(`{trackingId: "t", endpoint: "http://x", batchSize: "3", flushInterval: "250"}`))
	if isError(api) {
		t.Errorf("numeric strings refused: %s", api.Get("message").String())
	}
}

func TestTrackResolvesWithEventID(t *testing.T) {
	api := create(t, nil)
	v, err := trackJS(api, "MovieRating", jsEval(`{itemId: "movie2", eventValue: "4.5"}`))
	if err != nil {
		t.Fatal(err)
	}
	id, err := uuid.Parse(v.String())
	if err != nil || id.Version() != 7 {
		t.Errorf("eventId %q is not a UUIDv7", v.String())
	}
	if q := api.Call("stats").Get("queued").Int(); q != 1 {
		t.Errorf("queued = %d", q)
	}
	// A given eventId is kept.
	v, err = trackJS(api, "Click", nil, map[string]any{"eventId": "mine"})
	if err != nil || v.String() != "mine" {
		t.Errorf("track with eventId: %v, %v", v, err)
	}
}

// trackJS hands one call to the module's track as the loader does, in a
// batch of its own written as JSON (plain arguments only: the loader's
// descriptions of other values are tracker.DecodeCalls's to read, and
// TestTrackRejectsNamingTheField gives them as written), and returns its
// outcome as a promise of it would settle.
func trackJS(api js.Value, args ...any) (js.Value, error) {
	call := make([]any, 4)
	copy(call, args)
	call[3] = float64(time.Now().UnixMilli())
	batch := js.Global().Get("JSON").Call("stringify", js.ValueOf([]any{call})).String()
	return trackBatch(api, batch)
}

// trackBatch hands the module one batch of calls and returns the first
// call's outcome.
func trackBatch(api js.Value, batch string) (js.Value, error) {
	out := api.Call("track", batch)
	if isError(out) {
		return js.Value{}, errors.New(out.Get("message").String())
	}
	r := js.Global().Get("JSON").Call("parse", out).Index(0)
	if r.Type() == js.TypeObject {
		return js.Value{}, errors.New(r.Get("error").String())
	}
	return r, nil
}

func TestTrackRejectsNamingTheField(t *testing.T) {
	tests := []struct {
		args string // the JS arguments as the loader writes them
		want string
	}{
		{`{"\u0000": "undefined"}`, "eventType: missing or empty"},
		{`""`, "eventType: missing or empty"},
		{`42`, "eventType: must be a string"},
		{`{"\u0000": "function"}`, "eventType: must be a string"},
		{`"E", "itemId=1"`, "properties: must be an object"},
		{`"E", ["a"]`, "properties: must be an object"},
		{`"E", {"item_id": "x"}`, `properties: key "item_id" is not camelCase`},
		{`"E", {"a": {"b": 1}}`, `properties: key "a" is not a string, number or boolean`},
		{`"E", {"a": null}`, `properties: key "a" is not a string, number or boolean`},
		{`"E", {"a": {"\u0000": "number", "v": "NaN"}}`, `properties: key "a" is not a finite number`},
		{`"E", {"a": "` + strings.Repeat("x", 1017) + `"}`, "properties: longer than 1024 characters"},
		{`"E", {}, {"itemId": ""}`, "itemId: empty"},
		{`"E", {}, {"itemid": "x"}`, "options.itemid: unknown option"},
		{`"E", {}, {"eventValue": "4.5"}`, "eventValue: must be a number"},
		{`"E", {}, {"eventValue": {"\u0000": "number", "v": "Infinity"}}`, "eventValue: not a finite number"},
		{`"E", {}, {"impression": "a,b"}`, "impression: must be an array of item ids"},
		{`"E", {}, {"impression": ["a", 2]}`, "impression[1]: must be a string"},
		{`"E", {}, {"impression": [` + strings.Repeat(`"i",`, 25) + `"i"]}`, "impression: more than 25 items"},
		{`"E", {}, {"sentAt": "yesterday"}`, "sentAt: must be a Date or a number of milliseconds since 1970"},
		{`"E", {}, {"sentAt": {"\u0000": "date", "ms": {"\u0000": "number", "v": "NaN"}}}`, "sentAt: not a finite number"},
		{`"E", {}, {"sentAt": -5000}`, "sentAt: must be a positive number of seconds since 1970"},
	}
	api := create(t, nil)
	for _, tt := range tests {
		args := tt.args
		var given []json.RawMessage
		if err := json.Unmarshal([]byte("["+args+"]"), &given); err != nil {
			t.Fatalf("%s: %v", args, err)
		}
		for n := len(given); n < 3; n++ {
			args += ", null" // a call of fewer arguments: the loader fills in undefined
		}
		_, err := trackBatch(api, "[["+args+", 1714979289123]]")
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("track(%.60s) rejected with %v, want %q", tt.args, err, tt.want)
		}
		// buildEvent reports the same, synchronously.
		got := api.Call("buildEvent", "[["+args+", null]]")
		if !isError(got) || !strings.HasPrefix(got.Get("message").String(), tt.want) {
			t.Errorf("buildEvent(%.60s) = %v, want Error %q", tt.args, got, tt.want)
		}
	}
	if s := api.Call("stats"); s.Get("queued").Int() != 0 {
		t.Errorf("invalid events were queued: %d", s.Get("queued").Int())
	}
	// Not a batch: a loader bug, refused whole.
	for _, batch := range []any{`not json`, `[["A", null, null, "now"]]`, 7} {
		if out := api.Call("track", batch); !isError(out) {
			t.Errorf("track(%v) = %v, want an Error", batch, out)
		}
	}
}

func TestBuildEventWireForm(t *testing.T) {
	api := create(t, nil)
	before := time.Now().UnixMilli()
	ev := api.Call("buildEvent", `[["MovieRating", {"itemId": "movie2", "eventValue": "4.5", "numberOfRatings": 12, "liked": true},
		{"itemId": "movie2", "eventValue": 4.5, "impression": ["movie1", "movie2"], "recommendationId": "r1", "metricAttribution": "email"}, null]]`)
	after := time.Now().UnixMilli()
	if isError(ev) {
		t.Fatal(ev.Get("message").String())
	}
	wire := js.Global().Get("JSON").Call("stringify", ev).String()
	for _, want := range []string{
		`"eventType":"MovieRating"`,
		`"properties":"{\"eventValue\":\"4.5\",\"itemId\":\"movie2\",\"liked\":true,\"numberOfRatings\":12}"`,
		`"itemId":"movie2"`, `"eventValue":4.5`, `"impression":["movie1","movie2"]`,
		`"recommendationId":"r1"`, `"metricAttribution":{"eventAttributionSource":"email"}`,
	} {
		if !strings.Contains(wire, want) {
			t.Errorf("wire form %s lacks %s", wire, want)
		}
	}
	sentAt := ev.Get("sentAt")
	if sentAt.Type() != js.TypeNumber {
		t.Fatalf("sentAt is %s, want a number", sentAt.Type())
	}
	if ms := int64(sentAt.Float()*1000 + 0.5); ms < before || ms > after {
		t.Errorf("sentAt %v s not between %d and %d ms", sentAt.Float(), before, after)
	}
	if api.Call("stats").Get("queued").Int() != 0 {
		t.Error("buildEvent queued the event")
	}
	// What buildEvent returns, validate accepts.
	if v := api.Call("validate", ev); !v.IsNull() {
		t.Errorf("validate(buildEvent(...)) = %v", v)
	}
	if got := api.Call("buildEvent", `[["A", null, null, null], ["B", null, null, null]]`); !isError(got) {
		t.Errorf("buildEvent of two calls = %v, want an Error", got)
	}
}

func TestSentAtAsDateOrMilliseconds(t *testing.T) {
	api := create(t, nil)
	for _, src := range []string{`{"\u0000": "date", "ms": 1714979289123}`, `1714979289123`} {
		ev := api.Call("buildEvent", `[["E", null, {"sentAt": `+src+`}, null]]`)
		if isError(ev) {
			t.Fatalf("%s: %s", src, ev.Get("message").String())
		}
		if got := ev.Get("sentAt").Float(); got != 1714979289.123 {
			t.Errorf("sentAt %s → %v, want 1714979289.123", src, got)
		}
	}
}

// Each call of a batch is tracked at its own time unless its options give
// one, and a refused call leaves the others of its batch tracked.
func TestTrackBatch(t *testing.T) {
	c := startNodeCollector(t)
	api := create(t, map[string]any{"endpoint": c.url, "flushInterval": 60000})
	out := api.Call("track", `[
		["View", {"page": "/a", "n": 1, "ok": true}, {"itemId": "i1", "eventValue": 2.5, "impression": ["i1", "i2"], "eventId": "mine", "sentAt": 1714979289123}, 1714979000000],
		["Plain", null, null, 1714979000000],
		["Bad", {"bad_key": 1}, null, 1714979000000],
		[null, null, {"itemId": null}, 1714979000000]
	]`)
	if out.Type() != js.TypeString {
		t.Fatalf("track returned %v", out)
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

func TestValidate(t *testing.T) {
	api := create(t, nil)
	for _, tt := range []struct {
		obj  string
		want string // "" for null
	}{
		{`{eventType: "E", sentAt: 1714979289.123}`, ""},
		{`{eventType: "E", sentAt: 1714979289123}`, ""}, // milliseconds are read as such
		{`{eventType: "", sentAt: 1}`, "eventType: missing or empty"},
		{`{eventType: "E"}`, "sentAt: missing or empty"},
		{`{eventType: "E", sentAt: 1, properties: {a: 1}}`, "properties: must be a string"},
		{`{eventType: "E", sentAt: 1, properties: "{\"a\":{}}"}`, `properties: key "a" has a nested value`},
		{`{eventType: "E", sentAt: 1, itemId: ""}`, "itemId: empty"},
		{`"E"`, "body: must be an object"},
	} {
		got := api.Call("validate", jsEval(tt.obj))
		switch {
		case tt.want == "" && !got.IsNull():
			t.Errorf("validate(%s) = %v, want null", tt.obj, got)
		case tt.want != "" && (got.Type() != js.TypeString || !strings.HasPrefix(got.String(), tt.want)):
			t.Errorf("validate(%s) = %v, want %q", tt.obj, got, tt.want)
		}
	}
}

func TestIdentifyAndReset(t *testing.T) {
	api := create(t, nil)
	if got := api.Call("identify", 5); !isError(got) || got.Get("message").String() != "userId: must be a string" {
		t.Errorf("identify(5) = %v", got)
	}
	if got := api.Call("identify", ""); !isError(got) || got.Get("message").String() != "userId: missing or empty" {
		t.Errorf(`identify("") = %v`, got)
	}
	if got := api.Call("identify", "alice"); !got.IsUndefined() {
		t.Errorf(`identify("alice") = %v`, got)
	}
	session := api.Call("sessionId").String()
	api.Call("reset")
	if api.Call("sessionId").String() == session {
		t.Error("reset kept the session")
	}
}
