package tracker

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
)

// fakeClock is a Clock whose time moves only when a test calls Advance.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	running sync.WaitGroup // functions Advance started
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves the time on by d and runs, in their own goroutines as
// time.AfterFunc would, the functions that came due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	c.running.Add(len(due))
	for _, t := range due {
		go func() {
			defer c.running.Done()
			t.f()
		}()
	}
}

// wait returns once every function Advance started has returned.
func (c *fakeClock) wait() { c.running.Wait() }

// Pending returns how many timers wait to fire.
func (c *fakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}

// fakeTransport records every request and answers from a script: the i-th
// Send returns errs[i], and nil once the script runs out.
type fakeTransport struct {
	mu   sync.Mutex
	reqs []event.Request
	errs []error
	sent chan event.Request
}

func newFakeTransport(errs ...error) *fakeTransport {
	return &fakeTransport{errs: errs, sent: make(chan event.Request, 100)}
}

func (f *fakeTransport) Send(ctx context.Context, req event.Request) error {
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, req)
	var err error
	if n < len(f.errs) {
		err = f.errs[n]
	}
	f.mu.Unlock()
	f.sent <- req
	return err
}

func (f *fakeTransport) Requests() []event.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]event.Request(nil), f.reqs...)
}

// waitSend returns the next request sent, failing the test if none comes.
func (f *fakeTransport) waitSend(t *testing.T) event.Request {
	t.Helper()
	select {
	case r := <-f.sent:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no request was sent")
		return event.Request{}
	}
}

// expectNoSend fails if tk has sent a request, or has started what would
// send one: it waits until the timer functions the fake clock fired have
// returned and every flush they or Track started is over. After that
// nothing is sent until the test tracks, flushes or moves the clock.
func (f *fakeTransport) expectNoSend(t *testing.T, tk *Tracker) {
	t.Helper()
	if c, ok := tk.clock.(*fakeClock); ok {
		c.wait()
	}
	settle(t, tk)
	select {
	case r := <-f.sent:
		t.Fatalf("unexpected request with %d events", len(r.EventList))
	default:
	}
}

// NextIn returns how long until the earliest pending timer fires, or -1.
func (c *fakeClock) NextIn() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := time.Duration(-1)
	for _, t := range c.timers {
		if d := t.at.Sub(c.now); !t.stopped && (next < 0 || d < next) {
			next = d
		}
	}
	return next
}

// funcTransport answers each request with fn, recording it.
type funcTransport struct {
	mu   sync.Mutex
	reqs []event.Request
	fn   func(event.Request) error
}

func (f *funcTransport) Send(_ context.Context, req event.Request) error {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	return f.fn(req)
}

// fakeStore is a Store in memory that records what it was asked.
type fakeStore struct {
	mu      sync.Mutex
	saved   []Record
	claim   []Record
	deleted []string

	sessionID    string
	sessionLast  time.Time
	sessionSaves int
}

func (s *fakeStore) Add(r Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saved = append(s.saved, r)
}

func (s *fakeStore) Delete(ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted = append(s.deleted, ids...)
}

func (s *fakeStore) Claim() []Record { return s.claim }

func (s *fakeStore) Session() (string, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessionID, s.sessionLast
}

func (s *fakeStore) SaveSession(id string, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessionID, s.sessionLast = id, last
	s.sessionSaves++
}

func (s *fakeStore) Usage() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.saved) - len(s.deleted), 0
}

// notices collects what Config.Notify hears.
type notices struct {
	mu   sync.Mutex
	list []Notice
}

func (n *notices) add(x Notice) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.list = append(n.list, x)
}

func (n *notices) kinds() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, x := range n.list {
		out = append(out, x.Kind.String()+":"+strconv.Itoa(len(x.EventIDs)))
	}
	return strings.Join(out, ",")
}
