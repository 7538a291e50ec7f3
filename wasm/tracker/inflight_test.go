package tracker

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
)

// barrierTransport holds every Send until n of them are under way at
// once, which only a flush with n requests in flight achieves, and then
// answers each by its first event's type.
type barrierTransport struct {
	n       int
	answer  func(first string) error
	mu      sync.Mutex
	waiting int
	all     chan struct{}
}

func (b *barrierTransport) Send(ctx context.Context, req event.Request) error {
	b.mu.Lock()
	b.waiting++
	if b.waiting == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
	case <-time.After(5 * time.Second):
		return NetworkError("never had " + "enough requests in flight at once")
	}
	return b.answer(req.EventList[0].EventType)
}

func TestFlushSendsMaxInFlightRequestsAtOnce(t *testing.T) {
	clk := newFakeClock()
	tr := &barrierTransport{n: 3, all: make(chan struct{}), answer: func(first string) error {
		if first == "C" {
			return StatusError(503, "busy", 0)
		}
		return nil
	}}
	tk := newTracker(t, Config{BatchSize: 2, MaxInFlight: 3, Consent: ConsentPending}, tr, clk)
	for _, typ := range []string{"A", "B", "C", "D", "E", "F", "G"} {
		mustTrack(t, tk, typ)
	}
	tk.SetConsent(ConsentGranted) // three batches go out at once: AB, CD, EF
	waitFor(t, func() bool { return tk.Stats().Sent == 5 })
	settle(t, tk)

	// G left as soon as AB was answered, before CD's answer was read. CD
	// failed in the middle: it goes back to the queue, in order, and
	// nothing leaves after its failure; AB, EF and G are done.
	tk.mu.Lock()
	var queued []string
	for _, e := range tk.queue {
		queued = append(queued, e.ev.EventType)
	}
	retrying := tk.retrying
	tk.mu.Unlock()
	if strings.Join(queued, "") != "CD" || !retrying {
		t.Errorf("queue after the flush = %v (retrying %v), want C, D and a retry scheduled", queued, retrying)
	}
	if s := tk.Stats(); s.Sent != 5 || s.Retries != 1 || s.Failed != 2 || s.Queued != 2 {
		t.Errorf("stats = %+v", s)
	}
}

func TestMaxInFlightDefaultsToOne(t *testing.T) {
	tk := newTracker(t, Config{}, newFakeTransport(), newFakeClock())
	if got := tk.Config().MaxInFlight; got != 1 {
		t.Errorf("MaxInFlight default = %d", got)
	}
	if _, err := New(Config{TrackingID: "t", MaxInFlight: -1}, newFakeTransport(), newFakeClock()); err == nil || !strings.Contains(err.Error(), "maxInFlight") {
		t.Errorf("MaxInFlight -1: %v", err)
	}
}
