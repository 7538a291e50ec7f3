package tracker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
)

func TestBackoffScheduleIsExponentialCappedAndJittered(t *testing.T) {
	for _, tt := range []struct {
		name string
		rand float64
		want []time.Duration // wait after the 1st, 2nd, ... consecutive failure
	}{
		{"mid jitter", 0.5, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second,
			8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}},
		{"no jitter", 0, []time.Duration{0, 0, 0}},
		{"top of window", 0.999, []time.Duration{999 * time.Millisecond, 1998 * time.Millisecond}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			tr := &funcTransport{fn: func(event.Request) error { return StatusError(503, "down", 0) }}
			tk := newTracker(t, Config{MaxAttempts: 100, Rand: func() float64 { return tt.rand }}, tr, clk)
			mustTrack(t, tk, "A")
			for i, want := range tt.want {
				tk.Flush(context.Background())
				if got := clk.NextIn(); got != want {
					t.Errorf("after failure %d the retry is in %v, want %v", i+1, got, want)
				}
			}
			// A success resets the schedule.
			tr.fn = func(event.Request) error { return nil }
			tk.Flush(context.Background())
			tr.fn = func(event.Request) error { return NetworkError("offline") }
			mustTrack(t, tk, "B")
			tk.Flush(context.Background())
			if got := clk.NextIn(); got != tt.want[0] {
				t.Errorf("after a success the first retry is in %v, want %v", got, tt.want[0])
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	clk := newFakeClock()
	tr := &funcTransport{fn: func(event.Request) error { return StatusError(429, "slow down", 7*time.Second) }}
	tk := newTracker(t, Config{Rand: func() float64 { return 0.5 }}, tr, clk)
	mustTrack(t, tk, "A")
	tk.Flush(context.Background())
	if got := clk.NextIn(); got != 7*time.Second {
		t.Errorf("retry in %v, want Retry-After's 7s", got)
	}
	// The timer retries by itself when it fires, not before.
	tr.fn = func(event.Request) error { return nil }
	clk.Advance(7*time.Second - time.Millisecond)
	// Advance starts what came due before it returns: a timer still
	// pending has not fired, so nothing can have been retried.
	if got := clk.NextIn(); got != time.Millisecond {
		t.Fatalf("after 7s - 1ms the retry timer is due in %v, want 1ms: it fired before Retry-After", got)
	}
	if s := tk.Stats(); s.Sent != 0 {
		t.Fatal("retried before Retry-After")
	}
	clk.Advance(time.Millisecond)
	waitFor(t, func() bool { return tk.Stats().Sent == 1 })
}

func TestAttemptCapDropsAndReports(t *testing.T) {
	var heard notices
	clk := newFakeClock()
	tr := &funcTransport{fn: func(event.Request) error { return NetworkError("offline") }}
	tk := newTracker(t, Config{MaxAttempts: 3, Notify: heard.add}, tr, clk)
	mustTrack(t, tk, "A")
	for i := 0; i < 3; i++ {
		tk.Flush(context.Background())
	}
	if got := heard.kinds(); got != "error:1,error:1,dropped:1" {
		t.Errorf("notices = %s", got)
	}
	if s := tk.Stats(); s.Queued != 0 || s.Dropped != 1 || s.Retries != 3 || s.Failed != 3 {
		t.Errorf("stats = %+v", s)
	}
	if len(tr.reqs) != 3 {
		t.Errorf("%d attempts, want 3", len(tr.reqs))
	}
	if msg := heard.list[2].Err.Error(); !strings.Contains(msg, "gave up after 3 attempts") {
		t.Errorf("drop reason %q", msg)
	}
}

func TestAgeCapDropsWithoutSending(t *testing.T) {
	var heard notices
	clk := newFakeClock()
	tr := &funcTransport{fn: func(event.Request) error { return nil }}
	tk := newTracker(t, Config{MaxAge: time.Hour, FlushInterval: 10 * time.Hour, Notify: heard.add}, tr, clk)
	mustTrack(t, tk, "Old")
	clk.Advance(time.Hour) // exactly at the cap: still sent
	mustTrack(t, tk, "Young")
	tk.queue[0].queuedAt = clk.Now().Add(-time.Hour - time.Millisecond) // just over the cap
	res := tk.Flush(context.Background())
	if res != (Result{Sent: 1, Failed: 1}) {
		t.Errorf("flush = %+v", res)
	}
	if got := heard.kinds(); got != "dropped:1,sent:1" {
		t.Errorf("notices = %s", got)
	}
	if len(tr.reqs) != 1 || tr.reqs[0].EventList[0].EventType != "Young" {
		t.Errorf("sent %+v", tr.reqs)
	}
}

func TestTooLargeSplitsInHalves(t *testing.T) {
	var heard notices
	// The collector takes at most 3 events a request and never "Huge".
	tr := &funcTransport{fn: func(r event.Request) error {
		for _, e := range r.EventList {
			if e.EventType == "Huge" {
				return StatusError(413, "too large", 0)
			}
		}
		if len(r.EventList) > 3 {
			return StatusError(413, "too large", 0)
		}
		return nil
	}}
	tk := newTracker(t, Config{FlushInterval: time.Hour, Notify: heard.add}, tr, newFakeClock())
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "Huge", "i"} {
		ev, _ := tk.BuildEvent(name, nil, Options{})
		tk.queue = append(tk.queue, entry{key: tk.key, ev: ev, queuedAt: tk.clock.Now()})
	}
	res := tk.Flush(context.Background())
	if res != (Result{Sent: 8, Failed: 1}) {
		t.Errorf("flush = %+v", res)
	}
	var got []string
	for _, r := range tr.reqs {
		got = append(got, strings.Join(eventTypes(r), ""))
	}
	// 9 → 4+5; 4 → 2+2; 5 → 2+3; 3 holding Huge → 1+2; 2 → 1+1.
	if want := "abcdefgHugei|abcd|ab|cd|efgHugei|ef|gHugei|g|Hugei|Huge|i"; strings.Join(got, "|") != want {
		t.Errorf("requests\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
	if s := tk.Stats(); s.Dropped != 1 || s.Retries != 0 {
		t.Errorf("stats = %+v", s)
	}
	if k := heard.kinds(); !strings.HasSuffix(k, "dropped:1,sent:1") {
		t.Errorf("notices = %s", k)
	}
}

func TestStoreSeesAddsAndDeletesAndClaimedEventsGoFirst(t *testing.T) {
	st := &fakeStore{}
	clk := newFakeClock()
	// Left by an earlier page: another session, another user.
	prev := Record{SessionID: "old-session", UserID: "bob", QueuedAt: clk.Now().Add(-time.Minute),
		Event: event.Event{EventID: event.String("left-1"), EventType: "Left", SentAt: event.TimestampOf(clk.Now())}}
	st.claim = []Record{prev}
	tr := &funcTransport{fn: func(r event.Request) error {
		if r.EventList[0].EventType == "Refused" {
			return StatusError(400, "bad", 0)
		}
		return nil
	}}
	tk := newTracker(t, Config{FlushInterval: time.Hour, Store: st}, tr, clk)
	if s := tk.Stats(); s.Queued != 1 {
		t.Fatalf("claimed events not queued: %+v", s)
	}
	a := mustTrack(t, tk, "A")
	tk.Identify("carol")
	r := mustTrack(t, tk, "Refused")
	if len(st.saved) != 2 || *st.saved[0].Event.EventID != *a.EventID || st.saved[1].UserID != "carol" {
		t.Errorf("saved %+v", st.saved)
	}
	tk.Flush(context.Background())
	if len(tr.reqs) != 3 || tr.reqs[0].SessionID != "old-session" || *tr.reqs[0].UserID != "bob" {
		t.Fatalf("requests %+v", tr.reqs)
	}
	// Delivered and refused events both leave the store.
	if got := strings.Join(st.deleted, ","); got != "left-1,"+*a.EventID+","+*r.EventID {
		t.Errorf("deleted %s", got)
	}
}

func TestRetryableFailureKeepsEventsInStore(t *testing.T) {
	st := &fakeStore{}
	tr := &funcTransport{fn: func(event.Request) error { return errors.New("offline") }}
	tk := newTracker(t, Config{Store: st}, tr, newFakeClock())
	mustTrack(t, tk, "A")
	tk.Flush(context.Background())
	if len(st.deleted) != 0 {
		t.Errorf("an event that failed to send was deleted from the store")
	}
}

// waitFor polls cond, for results of goroutines started by timers.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
