package tracker

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
)

// tricky strings cover every escaping rule of encoding/json.
var tricky = []string{
	"", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>", "\b\f\n\r\t\x00\x01\x1f\x7f",
	"line\u2028para\u2029", "bad \xff utf8 \xc3", "é 漢字 🎉", "\ufffd", "\"\\",
}

var floats = []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e-6, 9.99e-7, 1e-7, 1.5e-9, 1e20, 1e21, 123456789e13, -1e21, math.MaxFloat64, math.SmallestNonzeroFloat64, 4.2, 1.0 / 3}

func TestMarshalMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(ss []string) string { return ss[rng.IntN(len(ss))] }
	opt := func() *string {
		if rng.IntN(3) == 0 {
			return nil
		}
		return event.String(pick(tricky))
	}
	for i := 0; i < 2000; i++ {
		ev := event.Event{
			EventID: opt(), EventType: pick(tricky), ItemID: opt(), RecommendationID: opt(), Properties: opt(),
			SentAt: event.TimestampOf(time.UnixMilli(rng.Int64N(1 << 42))),
		}
		if rng.IntN(2) == 0 {
			ev.EventValue = event.Float(floats[rng.IntN(len(floats))])
		}
		switch rng.IntN(3) {
		case 0:
			ev.Impression = []string{}
		case 1:
			for range rng.IntN(4) + 1 {
				ev.Impression = append(ev.Impression, pick(tricky))
			}
		}
		if rng.IntN(2) == 0 {
			ev.MetricAttribution = &event.MetricAttribution{EventAttributionSource: pick(tricky)}
		}
		r := Record{SessionID: pick(tricky), Event: ev, QueuedAt: time.Unix(rng.Int64N(1<<34), rng.Int64N(1e9))}
		if rng.IntN(2) == 0 {
			r.UserID = pick(tricky)
		}
		same(t, r, MarshalRecord)

		req := event.Request{TrackingID: pick(tricky), SessionID: pick(tricky), UserID: opt()}
		for range rng.IntN(4) {
			req.EventList = append(req.EventList, ev)
		}
		if rng.IntN(5) == 0 {
			req.EventList = []event.Event{}
		}
		same(t, req, event.MarshalRequest)
	}
}

func same[T any](t *testing.T, v T, marshal func(T) ([]byte, error)) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%T:\n got %s\nwant %s", v, got, want)
	}
}

func TestMarshalRefusesWhatJSONCannotHold(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1)} {
		ev := event.Event{EventType: "E", EventValue: event.Float(f), SentAt: 1}
		if _, err := event.MarshalRequest(event.Request{EventList: []event.Event{ev}}); err == nil {
			t.Errorf("eventValue %v: no error", f)
		}
		if _, err := MarshalRecord(Record{Event: event.Event{EventType: "E", SentAt: event.Timestamp(f)}}); err == nil {
			t.Errorf("sentAt %v: no error", f)
		}
	}
}
