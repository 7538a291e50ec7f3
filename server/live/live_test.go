package live

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
)

func ev(seq int64, tid, typ, user, session string) *server.StoredEvent {
	e := &server.StoredEvent{Seq: seq, TrackingID: tid, SessionID: session, Event: event.Event{EventType: typ}}
	if user != "" {
		e.UserID = &user
	}
	return e
}

type Filter = server.StreamFilter

func TestFilterMatch(t *testing.T) {
	e := ev(1, "tk_a", "View", "ana", "s1")
	tests := []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{TrackingID: "tk_a"}, true},
		{Filter{TrackingID: "tk_b"}, false},
		{Filter{TrackingID: "tk_a", EventType: "View"}, true},
		{Filter{TrackingID: "tk_a", EventType: "view"}, false}, // exact, as stored
		{Filter{UserID: "ana"}, true},
		{Filter{UserID: "bob"}, false},
		{Filter{SessionID: "s1", UserID: "ana", EventType: "View"}, true},
		{Filter{SessionID: "s2"}, false},
	}
	for _, tt := range tests {
		if got := Match(tt.f, e); got != tt.want {
			t.Errorf("%+v.Match = %v, want %v", tt.f, got, tt.want)
		}
	}
	anon := ev(2, "tk_a", "View", "", "s1")
	if Match(Filter{UserID: "ana"}, anon) {
		t.Error("a userId filter matched an event without a user")
	}
}

func TestPublishDeliversFilteredInOrder(t *testing.T) {
	h := NewHub(16, 0)
	all, _ := h.Subscribe(Filter{TrackingID: "tk_a"})
	views, _ := h.Subscribe(Filter{TrackingID: "tk_a", EventType: "View"})
	h.Publish(ev(1, "tk_a", "View", "", "s"), ev(2, "tk_b", "View", "", "s"), ev(3, "tk_a", "Rate", "", "s"))
	h.Publish(ev(4, "tk_a", "View", "", "s"))

	if got := drain(all); fmt.Sprint(got) != "[1 3 4]" {
		t.Errorf("tracker subscriber got %v, want [1 3 4]", got)
	}
	if got := drain(views); fmt.Sprint(got) != "[1 4]" {
		t.Errorf("View subscriber got %v, want [1 4]", got)
	}
}

func drain(s *Subscription) []int64 {
	var seqs []int64
	for {
		select {
		case e := <-s.Events():
			seqs = append(seqs, e.Seq)
		default:
			return seqs
		}
	}
}

// A subscriber that never reads must cost the publisher nothing: Publish
// returns at once, the buffer keeps the first events and the rest are
// counted as missed.
func TestSlowSubscriberDropsAndNeverBlocks(t *testing.T) {
	h := NewHub(4, 0)
	stalled, _ := h.Subscribe(Filter{})
	reader, _ := h.Subscribe(Filter{})
	var got []int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range reader.Events() {
			got = append(got, e.Seq)
		}
	}()

	finished := make(chan struct{})
	go func() {
		for i := int64(1); i <= 1000; i++ {
			h.Publish(ev(i, "tk", "View", "", "s"))
			if i%4 == 0 {
				time.Sleep(time.Millisecond / 10) // let the reader keep up
			}
		}
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish blocked on a subscriber that does not read")
	}

	if seqs := drain(stalled); fmt.Sprint(seqs) != "[1 2 3 4]" {
		t.Errorf("stalled subscriber buffered %v, want the first 4", seqs)
	}
	select {
	case <-stalled.Missed():
	default:
		t.Error("Missed was not signalled")
	}
	if n := stalled.TakeMissed(); n != 996 {
		t.Errorf("stalled subscriber missed %d, want 996", n)
	}
	if n := stalled.TakeMissed(); n != 0 {
		t.Errorf("TakeMissed did not reset: %d", n)
	}
	reader.Close()
	<-done
	// Whatever the reader got, it got in order and with nothing twice.
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("reader got %d after %d", got[i], got[i-1])
		}
	}
	if int64(len(got))+reader.TakeMissed() != 1000 {
		t.Errorf("reader got %d and missed %d of 1000", len(got), reader.missed.Load())
	}
}

func TestSubscriberLimit(t *testing.T) {
	h := NewHub(1, 2)
	a, err1 := h.Subscribe(Filter{})
	_, err2 := h.Subscribe(Filter{})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := h.Subscribe(Filter{}); !errors.Is(err, ErrTooMany) || !errors.Is(err, server.ErrUnavailable) {
		t.Fatalf("third subscription: %v, want ErrTooMany, a server.ErrUnavailable", err)
	}
	a.Close()
	a.Close() // twice is harmless
	if _, err := h.Subscribe(Filter{}); err != nil {
		t.Fatalf("after a Close: %v", err)
	}
	if h.Subscribers() != 2 {
		t.Errorf("Subscribers = %d, want 2", h.Subscribers())
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	h := NewHub(1, 0)
	s, _ := h.Subscribe(Filter{})
	h.Close()
	if _, ok := <-s.Events(); ok {
		t.Error("Events still open after the hub closed")
	}
	if _, err := h.Subscribe(Filter{}); !errors.Is(err, ErrClosed) || !errors.Is(err, server.ErrUnavailable) {
		t.Errorf("Subscribe after Close: %v, want ErrClosed, a server.ErrUnavailable", err)
	}
	h.Publish(ev(1, "tk", "View", "", "s")) // must not panic on closed channels
	s.Close()
	if h.Subscribers() != 0 {
		t.Errorf("Subscribers = %d after Close", h.Subscribers())
	}
	var nilHub *Hub
	nilHub.Publish(ev(1, "tk", "View", "", "s")) // a collector without a dashboard
}

// Run with -race: publishers, subscribers coming and going, and a Close.
func TestConcurrentUse(t *testing.T) {
	h := NewHub(8, 16)
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				h.Publish(ev(int64(i), "tk", "View", "", fmt.Sprint(p)))
			}
		}(p)
	}
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				s, err := h.Subscribe(Filter{TrackingID: "tk"})
				if err != nil {
					continue
				}
				drain(s)
				s.Close()
			}
		}()
	}
	wg.Wait()
	h.Close()
}
