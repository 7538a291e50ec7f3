// Package live fans accepted events out to the dashboard's live streams.
//
// A Feed follows the store and publishes every newly stored event to a Hub;
// each open stream subscribes to the hub with a filter. Nothing waits for a
// subscriber: every subscription has a bounded buffer, and an event that
// does not fit is dropped for that subscriber alone and counted, so a slow
// or stalled dashboard costs the collector nothing but the counter. With
// no dashboard open, the feed reads nothing at all.
package live

import (
	"sync"
	"sync/atomic"

	"github.com/tracklet/tracklet/server"
)

// Match reports whether f selects e.
func Match(f server.StreamFilter, e *server.StoredEvent) bool {
	return (f.TrackingID == "" || f.TrackingID == e.TrackingID) &&
		(f.EventType == "" || f.EventType == e.EventType) &&
		(f.UserID == "" || (e.UserID != nil && f.UserID == *e.UserID)) &&
		(f.SessionID == "" || f.SessionID == e.SessionID)
}

// Defaults of NewHub.
const (
	// DefaultBuffer is how many events a subscriber may fall behind by
	// before it starts missing events.
	DefaultBuffer = 256
	// DefaultMaxSubscribers bounds the open streams, and so the memory
	// they hold (buffer × subscribers).
	DefaultMaxSubscribers = 64
)

// Both refusals are server.ErrUnavailable (errors.Is): a stream may open
// later, and the HTTP API says so with 503 and Retry-After.
var (
	// ErrTooMany refuses a subscription beyond the hub's maximum.
	ErrTooMany error = unavailable("too many live streams are open")
	// ErrClosed refuses a subscription to a closed hub.
	ErrClosed error = unavailable("the collector is shutting down")
)

// unavailable is a refusal that is server.ErrUnavailable.
type unavailable string

func (e unavailable) Error() string      { return string(e) }
func (unavailable) Is(target error) bool { return target == server.ErrUnavailable }

// Hub is the broadcaster. Its zero value is not usable; call NewHub.
type Hub struct {
	buffer, max int
	n           atomic.Int32 // subscribers, read without the lock by Publish

	mu     sync.RWMutex
	subs   map[*Subscription]struct{}
	closed bool
}

// NewHub returns a hub whose subscribers each buffer up to buffer events and
// of which at most max are open at once. Zero or negative values take the
// defaults.
func NewHub(buffer, max int) *Hub {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	if max <= 0 {
		max = DefaultMaxSubscribers
	}
	return &Hub{buffer: buffer, max: max, subs: make(map[*Subscription]struct{})}
}

// Subscription receives the published events that pass its filter.
type Subscription struct {
	hub    *Hub
	filter server.StreamFilter
	c      chan *server.StoredEvent
	missed atomic.Int64
	missC  chan struct{} // signalled (never blocking) when an event is missed
	once   sync.Once
}

// Subscribe opens a subscription. Close it when done.
func (h *Hub) Subscribe(f server.StreamFilter) (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if len(h.subs) >= h.max {
		return nil, ErrTooMany
	}
	s := &Subscription{hub: h, filter: f, c: make(chan *server.StoredEvent, h.buffer), missC: make(chan struct{}, 1)}
	h.subs[s] = struct{}{}
	h.n.Store(int32(len(h.subs)))
	return s, nil
}

// Publish hands events to every subscriber whose filter they pass. It never
// blocks on a subscriber, and costs one atomic load when nobody listens.
// Subscribers share the events: nobody may modify them.
func (h *Hub) Publish(events ...*server.StoredEvent) {
	if h == nil || h.n.Load() == 0 {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		for i := range events {
			if !Match(s.filter, events[i]) {
				continue
			}
			select {
			case s.c <- events[i]:
			default:
				s.miss(1)
			}
		}
	}
}

// Skipped tells every subscriber that n events were not published to
// anyone (the feed fell too far behind), as if each had missed them.
func (h *Hub) Skipped(n int64) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		s.miss(n)
	}
}

// Subscribers returns how many subscriptions are open.
func (h *Hub) Subscribers() int { return int(h.n.Load()) }

// Close ends every subscription (their Events channels close) and refuses
// new ones. Call it when the server shuts down: open streams would otherwise
// hold http.Server.Shutdown until its deadline.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		s.closeLocked()
	}
}

// Events delivers the subscription's events in publish order. It is closed
// when the subscription or the hub is closed.
func (s *Subscription) Events() <-chan *server.StoredEvent { return s.c }

// Missed is signalled when the subscriber fell behind and events were
// dropped; TakeMissed says how many.
func (s *Subscription) Missed() <-chan struct{} { return s.missC }

// TakeMissed returns how many events were dropped since the last call, and
// resets the count.
func (s *Subscription) TakeMissed() int64 { return s.missed.Swap(0) }

func (s *Subscription) miss(n int64) {
	s.missed.Add(n)
	select {
	case s.missC <- struct{}{}:
	default:
	}
}

// Close ends the subscription. It is safe to call more than once.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.closeLocked()
}

func (s *Subscription) closeLocked() {
	s.once.Do(func() {
		delete(s.hub.subs, s)
		s.hub.n.Store(int32(len(s.hub.subs)))
		close(s.c)
	})
}
