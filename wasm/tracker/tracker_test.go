package tracker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tracklet/tracklet/event"
)

func newTracker(t *testing.T, cfg Config, tr Transport, clk Clock) *Tracker {
	t.Helper()
	if cfg.TrackingID == "" {
		cfg.TrackingID = "tid-1"
	}
	tk, err := New(cfg, tr, clk)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// settle waits until no flush is running: no background flush is scheduled
// or running (startFlushLocked sets flushing before its goroutine starts,
// and the goroutine clears it after its last flush, which may follow the
// one a test saw send), and no Flush call holds sendMu.
func settle(t *testing.T, tk *Tracker) {
	t.Helper()
	waitFor(t, func() bool {
		tk.mu.Lock()
		defer tk.mu.Unlock()
		return !tk.flushing
	})
	tk.sendMu.Lock()
	//lint:ignore SA2001 taking the lock is the wait: a Flush call holds it while it runs
	tk.sendMu.Unlock()
}

func mustTrack(t *testing.T, tk *Tracker, eventType string) event.Event {
	t.Helper()
	ev, err := tk.Track(eventType, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// flushAcrossIdentify tracks before, identifies user, tracks after and
// flushes: two events that go in two requests, one per user.
func flushAcrossIdentify(t *testing.T, tk *Tracker, before, user, after string) Result {
	t.Helper()
	mustTrack(t, tk, before)
	if err := tk.Identify(user); err != nil {
		t.Fatal(err)
	}
	mustTrack(t, tk, after)
	return tk.Flush(context.Background())
}

func eventTypes(r event.Request) []string {
	var out []string
	for _, e := range r.EventList {
		out = append(out, e.EventType)
	}
	return out
}

func TestConfigDefaultsAndLimits(t *testing.T) {
	tk := newTracker(t, Config{}, newFakeTransport(), newFakeClock())
	cfg := tk.Config()
	if cfg.BatchSize != 10 || cfg.FlushInterval != 5*time.Second || cfg.MaxQueue != DefaultMaxQueue {
		t.Errorf("defaults = %+v", cfg)
	}
	if _, err := uuid.Parse(tk.SessionID()); err != nil {
		t.Errorf("generated sessionId %q: %v", tk.SessionID(), err)
	}

	tests := []struct {
		name string
		cfg  Config
		want string // "" for accepted
	}{
		{"no tracking id", Config{}, "trackingId: missing or empty"},
		{"tracking id 256", Config{TrackingID: strings.Repeat("t", 256)}, ""},
		{"tracking id 257", Config{TrackingID: strings.Repeat("t", 257)}, "trackingId: longer than 256 characters"},
		{"session id 257", Config{TrackingID: "t", SessionID: strings.Repeat("s", 257)}, "sessionId: longer than 256 characters"},
		{"user id 257", Config{TrackingID: "t", UserID: strings.Repeat("u", 257)}, "userId: longer than 256 characters"},
		{"batch 10", Config{TrackingID: "t", BatchSize: 10}, ""},
		{"batch 11", Config{TrackingID: "t", BatchSize: 11}, "batchSize: must be between 1 and 10"},
		{"batch -1", Config{TrackingID: "t", BatchSize: -1}, "batchSize: must be between 1 and 10"},
		{"interval negative", Config{TrackingID: "t", FlushInterval: -time.Second}, "flushInterval: must be positive"},
		{"queue negative", Config{TrackingID: "t", MaxQueue: -1}, "maxQueue: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, newFakeTransport(), newFakeClock())
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("New: %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBuildEvent(t *testing.T) {
	clk := newFakeClock()
	tk := newTracker(t, Config{}, newFakeTransport(), clk)

	ev, err := tk.BuildEvent("MovieRating", map[string]any{"itemId": "movie2", "eventValue": "4.5"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := uuid.Parse(*ev.EventID)
	if err != nil || id.Version() != 7 {
		t.Errorf("eventId %q is not a UUIDv7 (%v)", *ev.EventID, err)
	}
	if ev.SentAt != event.TimestampOf(clk.Now()) {
		t.Errorf("sentAt = %v, want the clock's %v", ev.SentAt, event.TimestampOf(clk.Now()))
	}
	if *ev.Properties != `{"eventValue":"4.5","itemId":"movie2"}` {
		t.Errorf("properties = %s", *ev.Properties)
	}
	if tk.Stats().Queued != 0 {
		t.Error("BuildEvent queued the event")
	}

	// Options carry the other members and replace the generated ones.
	past := time.Date(2020, 1, 2, 3, 4, 5, 678e6, time.UTC)
	ev, err = tk.BuildEvent("Click", nil, Options{
		EventID: event.String("e-1"), ItemID: event.String("movie1"), EventValue: event.Float(4.5),
		Impression: []string{"a", "b"}, RecommendationID: event.String("rec"), MetricAttribution: event.String("email"),
		SentAt: past,
	})
	if err != nil {
		t.Fatal(err)
	}
	if *ev.EventID != "e-1" || *ev.ItemID != "movie1" || *ev.EventValue != 4.5 || len(ev.Impression) != 2 ||
		*ev.RecommendationID != "rec" || ev.MetricAttribution.EventAttributionSource != "email" || ev.Properties != nil {
		t.Errorf("options not applied: %+v", ev)
	}
	if !ev.SentAt.Time().Equal(past) {
		t.Errorf("sentAt = %v, want %v", ev.SentAt.Time(), past)
	}
}

func TestTrackValidationErrorsNameTheField(t *testing.T) {
	long := strings.Repeat("x", 257)
	tests := []struct {
		name      string
		eventType string
		props     map[string]any
		opts      Options
		want      string
	}{
		{"empty event type", "", nil, Options{}, "eventType: missing or empty"},
		{"event type 257", long, nil, Options{}, "eventType: longer than 256 characters"},
		{"snake case key", "E", map[string]any{"item_id": "x"}, Options{}, `properties: key "item_id" is not camelCase`},
		{"nested value", "E", map[string]any{"a": map[string]any{}}, Options{}, `properties: key "a" is not a string, number or boolean`},
		{"properties 1025", "E", map[string]any{"a": strings.Repeat("x", 1024-8+1)}, Options{}, "properties: longer than 1024 characters"},
		{"empty item id", "E", nil, Options{ItemID: event.String("")}, "itemId: empty"},
		{"event id 257", "E", nil, Options{EventID: event.String(long)}, "eventId: longer than 256 characters"},
		{"26 impressions", "E", nil, Options{Impression: make26()}, "impression: more than 25 items"},
		{"sentAt before 1970", "E", nil, Options{SentAt: time.UnixMilli(-1000)}, "sentAt: must be a positive number of seconds since 1970"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := newTracker(t, Config{}, newFakeTransport(), newFakeClock())
			_, err := tk.Track(tt.eventType, tt.props, tt.opts)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Track: %v, want %q", err, tt.want)
			}
			if s := tk.Stats(); s.Queued != 0 {
				t.Errorf("invalid event queued: %+v", s)
			}
		})
	}
	// Just under the properties limit passes: {"a":"…"} is 8 characters plus the value.
	tk := newTracker(t, Config{}, newFakeTransport(), newFakeClock())
	if _, err := tk.Track("E", map[string]any{"a": strings.Repeat("x", 1024-8)}, Options{}); err != nil {
		t.Errorf("1024-character properties: %v", err)
	}
}

func make26() []string {
	out := make([]string, 26)
	for i := range out {
		out[i] = "item"
	}
	return out
}

func TestSizeFlush(t *testing.T) {
	tests := []struct {
		batch int
	}{{1}, {3}, {10}}
	for _, tt := range tests {
		t.Run("batch"+string(rune('0'+tt.batch%10)), func(t *testing.T) {
			tr := newFakeTransport()
			clk := newFakeClock()
			tk := newTracker(t, Config{BatchSize: tt.batch}, tr, clk)
			for i := 0; i < tt.batch-1; i++ {
				mustTrack(t, tk, "E")
			}
			tr.expectNoSend(t, tk)
			mustTrack(t, tk, "E")
			req := tr.waitSend(t)
			settle(t, tk)
			if len(req.EventList) != tt.batch {
				t.Errorf("sent %d events, want %d", len(req.EventList), tt.batch)
			}
			if req.TrackingID != "tid-1" || req.SessionID != tk.SessionID() || req.UserID != nil {
				t.Errorf("envelope = %+v", req)
			}
			if err := req.Validate(); err != nil {
				t.Errorf("request invalid: %v", err)
			}
			if s := tk.Stats(); s != (Stats{Sent: tt.batch}) {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

func TestIntervalFlush(t *testing.T) {
	tr := newFakeTransport()
	clk := newFakeClock()
	tk := newTracker(t, Config{FlushInterval: 2 * time.Second}, tr, clk)
	if clk.Pending() != 0 {
		t.Error("an idle tracker runs a timer")
	}
	mustTrack(t, tk, "A")
	clk.Advance(time.Second)
	mustTrack(t, tk, "B")
	clk.Advance(999 * time.Millisecond)
	tr.expectNoSend(t, tk)
	clk.Advance(time.Millisecond) // 2 s after the first event
	req := tr.waitSend(t)
	settle(t, tk)
	if got := strings.Join(eventTypes(req), ","); got != "A,B" {
		t.Errorf("sent %s, want A,B", got)
	}
	if clk.Pending() != 0 {
		t.Error("timer left running with an empty queue")
	}
	// The next event starts a new interval.
	mustTrack(t, tk, "C")
	clk.Advance(2 * time.Second)
	if got := eventTypes(tr.waitSend(t)); len(got) != 1 || got[0] != "C" {
		t.Errorf("second interval sent %v", got)
	}
}

func TestRequestsNeverMixSessionsOrUsers(t *testing.T) {
	tr := newFakeTransport()
	tk := newTracker(t, Config{BatchSize: 3, FlushInterval: time.Hour}, tr, newFakeClock())
	// The tracker flushes by itself when 3 events are queued, so identify
	// between events and flush explicitly to control the cut.
	mustTrack(t, tk, "anon1")
	if err := tk.Identify("alice"); err != nil {
		t.Fatal(err)
	}
	mustTrack(t, tk, "alice1")
	tr.expectNoSend(t, tk)
	mustTrack(t, tk, "alice2") // three queued: a background flush starts
	first := tr.waitSend(t)
	second := tr.waitSend(t)
	settle(t, tk)
	if got := eventTypes(first); strings.Join(got, ",") != "anon1" || first.UserID != nil {
		t.Errorf("first request %v user %v", got, first.UserID)
	}
	if got := eventTypes(second); strings.Join(got, ",") != "alice1,alice2" || second.UserID == nil || *second.UserID != "alice" {
		t.Errorf("second request %v", got)
	}
	if first.SessionID != second.SessionID {
		t.Error("identify changed the session")
	}

	oldSession := tk.SessionID()
	tk.Reset()
	if res := flushAcrossIdentify(t, tk, "anon2", "bob", "bob1"); res != (Result{Sent: 2}) {
		t.Errorf("flush = %+v", res)
	}
	anon, bob := tr.waitSend(t), tr.waitSend(t)
	if anon.SessionID == oldSession || anon.UserID != nil || bob.SessionID != anon.SessionID || *bob.UserID != "bob" {
		t.Errorf("after reset: %+v / %+v", anon, bob)
	}

	// ResetTo takes the session the loader picked.
	tk.ResetTo("s-from-the-loader")
	mustTrack(t, tk, "anon3")
	tk.Flush(context.Background())
	if got := tr.waitSend(t); got.SessionID != "s-from-the-loader" || got.UserID != nil || tk.SessionID() != "s-from-the-loader" {
		t.Errorf("after ResetTo: %+v, SessionID() = %q", got, tk.SessionID())
	}
}

func TestBatchesSplitByKeyAndSize(t *testing.T) {
	a, b := batchKey{"s1", ""}, batchKey{"s1", "u"}
	var q []entry
	for i, k := range []batchKey{a, a, a, a, a, b, b, a} {
		q = append(q, entry{key: k, ev: event.Event{EventType: string(rune('0' + i))}})
	}
	var got []string
	for _, bt := range batches(q, 3) {
		var s string
		for _, e := range bt {
			s += e.ev.EventType
		}
		got = append(got, s)
	}
	if strings.Join(got, "|") != "012|34|56|7" {
		t.Errorf("batches = %v", got)
	}
}

func TestRetryableFailureKeepsEventsInOrder(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"network", NetworkError("connection refused")},
		{"503", StatusError(503, "unavailable", 0)},
		{"429", StatusError(429, "slow down", time.Second)},
		{"408", StatusError(408, "", 0)},
		{"other error", errors.New("context canceled")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newFakeTransport(tt.err)
			clk := newFakeClock()
			tk := newTracker(t, Config{BatchSize: 3}, tr, clk)
			if res := flushAcrossIdentify(t, tk, "A", "u", "B"); res != (Result{Failed: 2}) {
				t.Errorf("failed flush = %+v", res)
			}
			tr.waitSend(t) // only A's request was tried; B's waits behind it
			tr.expectNoSend(t, tk)
			if s := tk.Stats(); s != (Stats{Queued: 2, Failed: 1, Retries: 1}) {
				t.Errorf("stats after failure = %+v", s)
			}
			// A full batch does not hammer a failing collector...
			mustTrack(t, tk, "C")
			tr.expectNoSend(t, tk)
			// ...the interval timer retries, and the order holds.
			clk.Advance(DefaultFlushInterval)
			var got []string
			for i := 0; i < 2; i++ {
				got = append(got, eventTypes(tr.waitSend(t))...)
			}
			settle(t, tk)
			if strings.Join(got, ",") != "A,B,C" {
				t.Errorf("retry sent %v", got)
			}
			if s := tk.Stats(); s != (Stats{Sent: 3, Failed: 1, Retries: 1}) {
				t.Errorf("stats after retry = %+v", s)
			}
		})
	}
}

func TestPermanentFailureDropsOnlyThatBatch(t *testing.T) {
	tr := newFakeTransport(nil, StatusError(400, "eventList[0].properties: bad", 0), nil)
	tk := newTracker(t, Config{BatchSize: 2, FlushInterval: time.Hour}, tr, newFakeClock())
	// Build the queue directly so that no background flush interferes.
	for _, name := range []string{"A", "B", "C", "D", "E"} {
		ev, _ := tk.BuildEvent(name, nil, Options{})
		tk.queue = append(tk.queue, entry{key: tk.key, ev: ev, queuedAt: tk.clock.Now()})
	}
	res := tk.Flush(context.Background())
	if res != (Result{Sent: 3, Failed: 2}) {
		t.Errorf("flush = %+v", res)
	}
	if s := tk.Stats(); s != (Stats{Sent: 3, Failed: 2, Dropped: 2}) {
		t.Errorf("stats = %+v", s)
	}
	var got []string
	for _, r := range tr.Requests() {
		got = append(got, strings.Join(eventTypes(r), ""))
	}
	if strings.Join(got, "|") != "AB|CD|E" {
		t.Errorf("requests = %v", got)
	}
}

func TestQueueBound(t *testing.T) {
	tr := newFakeTransport(NetworkError("offline"))
	tk := newTracker(t, Config{BatchSize: 2, MaxQueue: 3, FlushInterval: time.Hour}, tr, newFakeClock())
	mustTrack(t, tk, "A")
	mustTrack(t, tk, "B") // a full batch: the background flush fails and keeps both
	tr.waitSend(t)
	settle(t, tk)
	mustTrack(t, tk, "C") // the third fits
	if _, err := tk.Track("D", nil, Options{}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("fourth event: %v, want ErrQueueFull", err)
	}
	if s := tk.Stats(); s.Queued != 3 || s.Dropped != 1 {
		t.Errorf("stats = %+v", s)
	}
	// The events accepted before are all still delivered.
	res := tk.Flush(context.Background())
	if res.Sent != 3 {
		t.Errorf("flush = %+v", res)
	}
}

func TestIdentifyChecksTheUserID(t *testing.T) {
	tk := newTracker(t, Config{}, newFakeTransport(), newFakeClock())
	for _, tt := range []struct{ id, want string }{
		{"", "userId: missing or empty"},
		{strings.Repeat("u", 257), "userId: longer than 256 characters"},
		{strings.Repeat("u", 256), ""},
	} {
		err := tk.Identify(tt.id)
		if got := errString(err); got != tt.want {
			t.Errorf("Identify(%d chars) = %q, want %q", len(tt.id), got, tt.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestStatusErrorRetryability(t *testing.T) {
	for status, want := range map[int]bool{400: false, 401: false, 403: false, 404: false, 408: true, 413: false, 429: true, 500: true, 502: true, 503: true, 504: true} {
		if got := StatusError(status, "", 0).Retryable; got != want {
			t.Errorf("%d retryable = %v, want %v", status, got, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{"7", 7 * time.Second},
		{"soon", 0},
		{"Mon, 06 May 2024 07:08:39 GMT", 30 * time.Second},
		{"Mon, 06 May 2024 07:08:00 GMT", 0}, // in the past
	} {
		if got := ParseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
