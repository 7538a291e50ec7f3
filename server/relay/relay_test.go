package relay

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sigv4"
)

// The store side of these tests is package sqlite's (server/sqlite's
// relay_test.go runs the relay on a real database); here the outbox is a
// slice, so that each test sees exactly what the relay asks of it.

const poll = time.Hour // long enough to tell a poll from a backoff

// fakeClock hands every wait to the test, which decides when it ends.
type fakeClock struct {
	now   time.Time
	waits chan wait
}

type wait struct {
	d  time.Duration
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC), waits: make(chan wait, 64)}
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.waits <- wait{d, ch}
	return ch
}

// memStore is an outbox in memory.
type memStore struct {
	mu       sync.Mutex
	events   []*server.StoredEvent
	cursor   int64
	relayed  int
	refusals []*Refusal
	errors   []string
}

func (s *memStore) Links(context.Context) ([]*Link, error) { return nil, nil }
func (s *memStore) Events(_ context.Context, f server.EventFilter) iter.Seq2[*server.StoredEvent, error] {
	return func(yield func(*server.StoredEvent, error) bool) {
		s.mu.Lock()
		var out []*server.StoredEvent
		for _, e := range s.events {
			if e.Seq > f.AfterSeq && (f.Limit == 0 || len(out) < f.Limit) {
				out = append(out, e)
			}
		}
		s.mu.Unlock()
		for _, e := range out {
			if !yield(e, nil) {
				return
			}
		}
	}
}
func (s *memStore) Advance(_ context.Context, _ string, through int64, relayed int, refusals []*Refusal, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cursor = max(s.cursor, through)
	s.relayed += relayed
	s.refusals = append(s.refusals, refusals...)
	return nil
}
func (s *memStore) RecordError(_ context.Context, _, msg string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors = append(s.errors, msg)
	return nil
}
func (s *memStore) Pending(_ context.Context, _ string, after int64) (int64, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, e := range s.events {
		if e.Seq > after {
			n++
		}
	}
	return n, time.Time{}, nil
}

// add stores n events of session (and user, if not empty) with ids
// prefix-0, prefix-1, ...
func (s *memStore) add(session, user, prefix string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range n {
		e := &server.StoredEvent{Seq: int64(len(s.events) + 1), TrackingID: "tk_a", SessionID: session,
			Event:      event.Event{EventID: event.String(fmt.Sprintf("%s-%d", prefix, i)), EventType: "View", SentAt: 1714979289},
			OccurredAt: time.UnixMilli(1714979289000 + int64(i))}
		if user != "" {
			e.UserID = event.String(user)
		}
		s.events = append(s.events, e)
	}
}

var testKey = server.AccessKey{ID: "AKIDRELAYTEST0000001", Secret: "relay-test-secret-0123456789"}

// personalize is a stand-in for Amazon Personalize on loopback: it checks
// each request's signature with package sigv4 and answers what answer says.
type personalize struct {
	mu       sync.Mutex
	requests []event.Request
	answer   func(n int, req *event.Request) (status int, errType string) // n counts requests from 0
}

func (p *personalize) start(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := sigv4.BufferBody(r, 1<<20)
		if err := sigv4.Verify(r.Context(), r, raw, testKey, time.Now()); err != nil {
			t.Errorf("signature: %v", err)
			w.WriteHeader(403)
			return
		}
		req, err := event.DecodeRequest(raw)
		if err != nil {
			t.Errorf("body: %v", err)
		}
		p.mu.Lock()
		n := len(p.requests)
		p.requests = append(p.requests, *req)
		p.mu.Unlock()
		status, typ := 200, ""
		if p.answer != nil {
			status, typ = p.answer(n, req)
		}
		if status == 0 { // a broken connection
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		if typ != "" {
			w.Header().Set("x-amzn-ErrorType", typ)
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"message":"answer %d"}`, n)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// observer counts what the relay reports.
type observer struct {
	mu               sync.Mutex
	relayed, refused int
	retries          map[string]int
}

func (o *observer) Relayed(_ string, n int) { o.mu.Lock(); o.relayed += n; o.mu.Unlock() }
func (o *observer) Refused(_ string, n int) { o.mu.Lock(); o.refused += n; o.mu.Unlock() }
func (o *observer) Retried(_, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.retries == nil {
		o.retries = map[string]int{}
	}
	o.retries[reason]++
}
func (o *observer) Lag(string, int64, time.Duration) {}

// relayUntilIdle runs a worker for store against srv until it waits for
// new events, ending every backoff at once; it returns the backoffs asked.
func relayUntilIdle(t *testing.T, store *memStore, srv *httptest.Server, obs *observer, parallel int) []time.Duration {
	t.Helper()
	clk := newFakeClock()
	r := New(Config{Store: store, Observer: obs, Clock: clk, Poll: poll, Parallel: parallel,
		Backoff: Backoff{Base: time.Second, Max: 8 * time.Second},
		Sender: &Personalize{Client: srv.Client(), Credentials: aws.CredentialsProviderFunc(
			func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: testKey.ID, SecretAccessKey: testKey.Secret}, nil
			})}})
	link := &Link{TrackingID: "tk_a", PersonalizeTrackingID: "pz-tracker", Region: "eu-west-1", Endpoint: srv.URL}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.work(ctx, link)
	}()
	var backoffs []time.Duration
	for w := range clk.waits {
		if w.d == poll {
			break // idle: every stored event was answered
		}
		backoffs = append(backoffs, w.d)
		if len(backoffs) > 50 {
			t.Fatal("the relay retried more than 50 times")
		}
		w.ch <- clk.now
	}
	cancel()
	<-done
	return backoffs
}

func TestRelayGroupsBySessionAndUser(t *testing.T) {
	store := &memStore{}
	store.add("s1", "", "a", 12)
	store.add("s2", "u1", "b", 3)
	store.add("s1", "u1", "c", 2) // same session, another user: another request
	store.add("s1", "", "d", 9)   // s1's open request has 2 of 10: 8 join it
	p := &personalize{}
	obs := &observer{}
	// One request at a time, so that they arrive in the order sent.
	if b := relayUntilIdle(t, store, p.start(t), obs, 1); len(b) != 0 {
		t.Errorf("backoffs %v with a server that always accepts", b)
	}
	var got []string
	for _, req := range p.requests {
		if len(req.EventList) > event.MaxEvents || req.TrackingID != "pz-tracker" {
			t.Errorf("request of %d events for %q", len(req.EventList), req.TrackingID)
		}
		user := ""
		if req.UserID != nil {
			user = *req.UserID
		}
		got = append(got, fmt.Sprintf("%s/%s:%d", req.SessionID, user, len(req.EventList)))
	}
	want := []string{"s1/:10", "s1/:10", "s2/u1:3", "s1/u1:2", "s1/:1"}
	if !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
	if store.cursor != 26 || store.relayed != 26 || obs.relayed != 26 {
		t.Errorf("cursor %d, relayed %d (observed %d), want 26", store.cursor, store.relayed, obs.relayed)
	}
	// sentAt is when the event happened on the collector's clock.
	if first := p.requests[0].EventList[0]; first.SentAt.UnixMilli() != 1714979289000 || *first.EventID != "a-0" {
		t.Errorf("first event %+v", first)
	}
}

func TestRelayBacksOffWithJitter(t *testing.T) {
	store := &memStore{}
	store.add("s1", "", "a", 3)
	p := &personalize{answer: func(n int, _ *event.Request) (int, string) {
		switch n {
		case 0:
			return 503, "ServiceUnavailableException"
		case 1:
			return 400, "ThrottlingException" // AWS throttles JSON services with 400 too
		case 2:
			return 0, "" // connection dropped
		case 3:
			return 429, ""
		case 4:
			return 500, "InternalFailure"
		case 5:
			return 403, "UnrecognizedClientException"
		}
		return 200, ""
	}}
	obs := &observer{}
	backoffs := relayUntilIdle(t, store, p.start(t), obs, 0)
	if len(backoffs) != 6 {
		t.Fatalf("backoffs %v, want 6", backoffs)
	}
	for i, d := range backoffs {
		step := min(time.Second<<i, 8*time.Second)
		if d < step/2 || d > step {
			t.Errorf("backoff %d: %v, want within [%v, %v]", i, d, step/2, step)
		}
	}
	want := map[string]int{"server": 2, "throttled": 2, "network": 1, "credentials": 1}
	for k, v := range want {
		if obs.retries[k] != v {
			t.Errorf("retries %v, want %v", obs.retries, want)
			break
		}
	}
	if store.cursor != 3 || store.relayed != 3 || len(store.refusals) != 0 || len(store.errors) != 6 {
		t.Errorf("cursor %d relayed %d refusals %d errors %q", store.cursor, store.relayed, len(store.refusals), store.errors)
	}
}

func TestRelayRecordsRefusalsAndMovesOn(t *testing.T) {
	store := &memStore{}
	store.add("s1", "", "a", 10)
	store.add("s2", "", "b", 2)
	// Personalize refuses any request holding a-3 or a-7.
	p := &personalize{answer: func(_ int, req *event.Request) (int, string) {
		for _, e := range req.EventList {
			if *e.EventID == "a-3" || *e.EventID == "a-7" {
				return 400, "InvalidInputException"
			}
		}
		return 200, ""
	}}
	obs := &observer{}
	if b := relayUntilIdle(t, store, p.start(t), obs, 0); len(b) != 0 {
		t.Errorf("a refusal was retried with backoff: %v", b)
	}
	if store.cursor != 12 || store.relayed != 10 || obs.refused != 2 {
		t.Errorf("cursor %d, relayed %d, refused %d; want 12, 10, 2", store.cursor, store.relayed, obs.refused)
	}
	var refused []string
	for _, r := range store.refusals {
		refused = append(refused, r.EventIDs...)
		if r.Status != 400 || r.ErrorType != "InvalidInputException" || r.Message == "" || r.FirstSeq != r.LastSeq {
			t.Errorf("refusal %+v", r)
		}
	}
	if !slices.Equal(refused, []string{"a-3", "a-7"}) {
		t.Errorf("refused %q, want a-3 and a-7", refused)
	}
	// The request of ten, then each of its events alone, then s2's: a-3
	// and a-7 were sent twice each, and never again.
	if len(p.requests) != 1+10+1 {
		t.Errorf("%d requests, want 12", len(p.requests))
	}
}

// TestNewLinkChecksEachField holds NewLink to the rule of a PutEvents
// trackingId at its edge, counted in characters as event counts them (a
// 256-character id of 3-byte runes is 768 bytes and still valid), and
// names the field of each refusal.
func TestNewLinkChecksEachField(t *testing.T) {
	for _, tc := range []struct {
		name, pzID, region, endpoint string
		field                        string // "" means accepted
	}{
		{"plain", "pz", "eu-west-1", "", ""},
		{"trimmed", "  pz  ", " eu-west-1 ", "https://example.test/", ""},
		{"max ascii", strings.Repeat("a", event.MaxIDLength), "eu-west-1", "", ""},
		{"max multibyte", strings.Repeat("é", event.MaxIDLength), "eu-west-1", "", ""},
		{"too long", strings.Repeat("a", event.MaxIDLength+1), "eu-west-1", "", "personalizeTrackingId"},
		{"too long multibyte", strings.Repeat("é", event.MaxIDLength+1), "eu-west-1", "", "personalizeTrackingId"},
		{"empty", " ", "eu-west-1", "", "personalizeTrackingId"},
		{"region", "pz", "Mars", "", "region"},
		{"endpoint scheme", "pz", "eu-west-1", "ftp://x", "endpoint"},
		{"endpoint query", "pz", "eu-west-1", "https://x/?a=1", "endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewLink("tk_1", tc.pzID, tc.region, tc.endpoint)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("NewLink: %v", err)
				}
				if l.PersonalizeTrackingID != strings.TrimSpace(tc.pzID) || l.Region != strings.TrimSpace(tc.region) ||
					l.Endpoint != strings.TrimRight(tc.endpoint, "/") {
					t.Errorf("link = %+v", l)
				}
				return
			}
			var fe *event.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("NewLink error = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
}
