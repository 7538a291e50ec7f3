// Package storetest is the one test suite of package server's storage
// interfaces, run against every backend: server/sqlite on a SQLite file and
// server/d1 on a SQLite file with D1's limits. A behaviour the HTTP API
// relies on is written here once, so that the backends cannot drift apart.
//
// What only one backend has (sqlite's group commit, checkpoints and
// retention; d1's statement packing and its queue) is tested beside it;
// the Worker's run on workerd, with real D1, goes through the HTTP API in
// server/worker's tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
)

// Store is what the suite needs of a backend: the storage interfaces of
// package server, and the tracker management both backends offer.
type Store interface {
	server.Store
	server.Admin
	CreateTracker(ctx context.Context, name string, origins []string) (*server.Tracker, error)
	SetTrackerDisabled(ctx context.Context, id string, disabled bool) error
}

// Backend makes stores of one kind for the suite.
type Backend struct {
	// Open returns a new, empty store that is closed when t ends.
	Open func(t testing.TB) Store
	// Reject logs r in s and returns once it is stored: a backend's
	// rejection log may write in the background.
	Reject func(ctx context.Context, s Store, r *server.Rejection) error
}

// Run runs the suite against b, one subtest per behaviour.
func Run(t *testing.T, b Backend) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, Backend)
	}{
		{"Trackers", testTrackers},
		{"PutEventsDedup", testPutEventsDedup},
		{"PutEventsNeedsEventIDs", testPutEventsNeedsEventIDs},
		{"RoundTrip", testRoundTrip},
		{"EventFilter", testEventFilter},
		{"Rejected", testRejected},
		{"StatsAndDelete", testStatsAndDelete},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, b) })
	}
}

// now is when the suite's batches are received.
var now = time.UnixMilli(1714979289123)

// Batch builds a validated request for trackingID of n events with
// eventIds prefix-0 … prefix-(n-1) and every optional member set, sent 10
// seconds before received by a client whose clock is 3 seconds behind.
func Batch(t testing.TB, trackingID, prefix string, n int, received time.Time) *server.Batch {
	t.Helper()
	var evs []string
	for i := range n {
		evs = append(evs, fmt.Sprintf(`{"eventId":"%s-%d","eventType":"View","sentAt":%d.%03d,"itemId":"item%d",
			"eventValue":%d.5,"impression":["a","b"],"recommendationId":"r1",
			"metricAttribution":{"eventAttributionSource":"email"},"properties":"{\"numberOfRatings\":\"%d\"}"}`,
			prefix, i, received.Unix()-10, i, i, i, i))
	}
	body := fmt.Sprintf(`{"trackingId":%q,"sessionId":"s1","userId":"u1","eventList":[%s]}`, trackingID, strings.Join(evs, ","))
	req, err := event.DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := req.Validate(); err != nil {
		t.Fatal(err)
	}
	return &server.Batch{Request: req, ReceivedAt: received, ClientSentAt: received.Add(-3 * time.Second)}
}

func createTracker(t *testing.T, s Store, name string, origins ...string) *server.Tracker {
	t.Helper()
	tr, err := s.CreateTracker(t.Context(), name, origins)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func put(t *testing.T, s Store, b *server.Batch) server.PutResult {
	t.Helper()
	res, err := s.PutEvents(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// events reads back what f selects.
func events(t *testing.T, s Store, f server.EventFilter) []server.StoredEvent {
	t.Helper()
	var out []server.StoredEvent
	for e, err := range s.Events(t.Context(), f) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *e)
	}
	return out
}

func testTrackers(t *testing.T, b Backend) {
	ctx := t.Context()
	s := b.Open(t)
	if _, err := s.Tracker(ctx, "tk_missing"); !errors.Is(err, server.ErrTrackerNotFound) {
		t.Errorf("missing tracker: err = %v, want ErrTrackerNotFound", err)
	}
	if ok, err := s.OriginAllowed(ctx, "https://shop.example"); err != nil || ok {
		t.Errorf("OriginAllowed without trackers = %v, %v; want false", ok, err)
	}
	shop := createTracker(t, s, " Shop ", "https://Shop.example/")
	tr, err := s.Tracker(ctx, shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tr.ID != shop.ID || tr.Name != "Shop" || !slices.Equal(tr.Origins, []string{"https://shop.example"}) || tr.Disabled || tr.SigV4 != nil {
		t.Errorf("Tracker = %+v, want Shop allowing https://shop.example", tr)
	}
	if !tr.CreatedAt.Equal(shop.CreatedAt) {
		t.Errorf("CreatedAt read back %v, created %v", tr.CreatedAt, shop.CreatedAt)
	}
	for origin, want := range map[string]bool{"https://shop.example": true, "https://SHOP.example": true, "https://evil.example": false} {
		if ok, err := s.OriginAllowed(ctx, origin); err != nil || ok != want {
			t.Errorf("OriginAllowed(%q) = %v, %v; want %v", origin, ok, err, want)
		}
	}
	// A disabled tracker allows nothing; an open one (no origins) anything.
	if err := s.SetTrackerDisabled(ctx, shop.ID, true); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.OriginAllowed(ctx, "https://shop.example"); err != nil || ok {
		t.Errorf("OriginAllowed for a disabled tracker's origin = %v, %v; want false", ok, err)
	}
	open := createTracker(t, s, "Open")
	if ok, err := s.OriginAllowed(ctx, "https://evil.example"); err != nil || !ok {
		t.Errorf("OriginAllowed with a tracker open to all = %v, %v; want true", ok, err)
	}
	if open.ID == shop.ID || !strings.HasPrefix(open.ID, "tk_") {
		t.Errorf("trackingIds %q and %q: want two distinct tk_ ids", shop.ID, open.ID)
	}
	if err := s.SetTrackerDisabled(ctx, "tk_missing", true); !errors.Is(err, server.ErrTrackerNotFound) {
		t.Errorf("disabling a missing tracker: err = %v, want ErrTrackerNotFound", err)
	}
	for _, bad := range [][]string{{"shop.example/path"}, {"ftp://shop.example"}} {
		if _, err := s.CreateTracker(ctx, "Bad", bad); err == nil {
			t.Errorf("a tracker with origins %q was created", bad)
		}
	}
	if _, err := s.CreateTracker(ctx, "  ", nil); err == nil {
		t.Error("a tracker without a name was created")
	}
}

func testPutEventsDedup(t *testing.T, b Backend) {
	s := b.Open(t)
	a := Batch(t, "tk_a", "x", 3, now)
	if res := put(t, s, a); res != (server.PutResult{Accepted: 3}) {
		t.Errorf("first put = %+v, want 3 accepted", res)
	}
	// A retry is all duplicates; the same eventIds for another tracker are
	// other events.
	if res := put(t, s, Batch(t, "tk_a", "x", 3, now)); res != (server.PutResult{Duplicates: 3}) {
		t.Errorf("retry = %+v, want 3 duplicates", res)
	}
	if res := put(t, s, Batch(t, "tk_b", "x", 3, now)); res != (server.PutResult{Accepted: 3}) {
		t.Errorf("another tracker's = %+v, want 3 accepted", res)
	}
	// An eventId twice in one request: the first wins.
	c := Batch(t, "tk_a", "y", 2, now)
	c.Request.EventList[1].EventID = c.Request.EventList[0].EventID
	c.Request.EventList[1].EventType = "Second"
	if res := put(t, s, c); res != (server.PutResult{Accepted: 1, Duplicates: 1}) {
		t.Errorf("repeated eventId = %+v, want 1 accepted, 1 duplicate", res)
	}
	got := events(t, s, server.EventFilter{TrackingID: "tk_a"})
	if len(got) != 4 || *got[3].EventID != "y-0" || got[3].EventType != "View" {
		t.Errorf("tk_a's events %+v, want x-0..2 and y-0 of type View", got)
	}
}

func testPutEventsNeedsEventIDs(t *testing.T, b Backend) {
	s := b.Open(t)
	bt := Batch(t, "tk_a", "x", 2, now)
	bt.Request.EventList[1].EventID = nil
	if _, err := s.PutEvents(t.Context(), bt); err == nil {
		t.Fatal("PutEvents stored an event without an eventId: a retry would store it twice")
	}
	if got := events(t, s, server.EventFilter{}); len(got) != 0 {
		t.Errorf("%d events stored from a refused batch, want none (all-or-nothing)", len(got))
	}
}

func testRoundTrip(t *testing.T, b Backend) {
	s := b.Open(t)
	full := Batch(t, "tk_a", "x", 2, now)
	bare := Batch(t, "tk_a", "y", 1, now.Add(time.Second))
	bare.Request.UserID, bare.ClientSentAt = nil, time.Time{}
	e := &bare.Request.EventList[0]
	e.ItemID, e.EventValue, e.Impression, e.RecommendationID, e.MetricAttribution, e.Properties = nil, nil, nil, nil, nil, nil
	// Strings JSON and SQL treat specially come back byte for byte.
	e.EventType = "a\x00b \u2028 <&> \"q\" \\ 😀"
	put(t, s, full)
	put(t, s, bare)
	got := events(t, s, server.EventFilter{})
	if len(got) != 3 {
		t.Fatalf("%d events read back, want 3", len(got))
	}
	for i, want := range []struct {
		b *server.Batch
		e event.Event
	}{{full, full.Request.EventList[0]}, {full, full.Request.EventList[1]}, {bare, bare.Request.EventList[0]}} {
		g := got[i]
		if i > 0 && g.Seq <= got[i-1].Seq {
			t.Errorf("event %d: Seq %d after %d, want it growing", i, g.Seq, got[i-1].Seq)
		}
		wantEvent := want.e
		wantEvent.SentAt = event.Timestamp(float64(want.e.SentAt.UnixMilli()) / 1000) // kept to the millisecond
		if !reflect.DeepEqual(g.Event, wantEvent) {
			t.Errorf("event %d read back\n %+v\nwant\n %+v", i, g.Event, wantEvent)
		}
		r := want.b.Request
		if g.TrackingID != r.TrackingID || g.SessionID != r.SessionID || !reflect.DeepEqual(g.UserID, r.UserID) {
			t.Errorf("event %d: tracker %q session %q user %v, want %q %q %v", i, g.TrackingID, g.SessionID, g.UserID,
				r.TrackingID, r.SessionID, r.UserID)
		}
		if !g.ReceivedAt.Equal(want.b.ReceivedAt) || !g.OccurredAt.Equal(want.b.OccurredAt(want.e.SentAt.Time()).Truncate(time.Millisecond)) {
			t.Errorf("event %d: received %v occurred %v", i, g.ReceivedAt, g.OccurredAt)
		}
	}
	// The client's clock was 3 s behind: the first event happened 3 s
	// less long before its receipt than its sentAt says.
	sent := time.Unix(now.Unix()-10, 0)
	if d, want := got[0].ReceivedAt.Sub(got[0].OccurredAt), now.Sub(sent)-3*time.Second; d != want {
		t.Errorf("occurred %v before receipt, want %v (sentAt's %v less the client's 3 s skew)", d, want, now.Sub(sent))
	}
}

func testEventFilter(t *testing.T, b Backend) {
	s := b.Open(t)
	put(t, s, Batch(t, "tk_a", "x", 10, now))
	put(t, s, Batch(t, "tk_a", "y", 1, now.Add(time.Second)))
	put(t, s, Batch(t, "tk_b", "z", 2, now.Add(2*time.Second)))
	all := events(t, s, server.EventFilter{})
	if len(all) != 13 {
		t.Fatalf("%d events, want 13", len(all))
	}
	seq := func(i int) int64 { return all[i].Seq }
	for _, tc := range []struct {
		f    server.EventFilter
		want []string // eventIds, in order
	}{
		{server.EventFilter{TrackingID: "tk_b"}, []string{"z-0", "z-1"}},
		{server.EventFilter{TrackingID: "tk_c"}, nil},
		{server.EventFilter{AfterSeq: seq(1), Limit: 3}, []string{"x-2", "x-3", "x-4"}},
		{server.EventFilter{AfterSeq: seq(1), ThroughSeq: seq(4)}, []string{"x-2", "x-3", "x-4"}}, // an export's snapshot
		{server.EventFilter{TrackingID: "tk_a", AfterSeq: seq(8)}, []string{"x-9", "y-0"}},
		// sentAt is 10 s before receipt: x-* at …279.00x, y-0 at …280.
		{server.EventFilter{TrackingID: "tk_a", Since: time.Unix(now.Unix()-10, 5e8)}, []string{"y-0"}},
		{server.EventFilter{TrackingID: "tk_a", Until: time.Unix(now.Unix()-10, 1e6)}, []string{"x-0"}},
		{server.EventFilter{ReceivedSince: now.Add(time.Second), ReceivedUntil: now.Add(2 * time.Second)}, []string{"y-0"}},
	} {
		var ids []string
		for _, e := range events(t, s, tc.f) {
			ids = append(ids, *e.EventID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("%+v: %q, want %q", tc.f, ids, tc.want)
		}
	}
	// Stopping early ends the iteration cleanly.
	for range s.Events(t.Context(), server.EventFilter{}) {
		break
	}
}

func testRejected(t *testing.T, b Backend) {
	ctx := t.Context()
	s := b.Open(t)
	for i := range 3 {
		r := &server.Rejection{ReceivedAt: now.Add(time.Duration(i) * time.Millisecond), Status: 400 + i,
			Reason: fmt.Sprint("bad ", i), Body: strings.Repeat("x", server.MaxRejectedBody+10)}
		if i != 1 {
			r.TrackingID, r.Origin = "tk_a", "https://shop.example"
		}
		if err := b.Reject(ctx, s, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Rejected(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Reason != "bad 2" || got[2].Reason != "bad 0" {
		t.Fatalf("Rejected = %+v, want bad 2, 1, 0", got)
	}
	if g := got[0]; g.Status != 402 || g.TrackingID != "tk_a" || g.Origin != "https://shop.example" ||
		len(g.Body) != server.MaxRejectedBody || !g.ReceivedAt.Equal(now.Add(2*time.Millisecond)) || g.ID == 0 {
		t.Errorf("newest rejection %+v (a %d-byte body), want it whole but its body cut to %d", g, len(g.Body), server.MaxRejectedBody)
	}
	if got[1].TrackingID != "" || got[1].Origin != "" {
		t.Errorf("a rejection without tracker or origin read back %+v", got[1])
	}
	if got, err := s.Rejected(ctx, "tk_a", 1); err != nil || len(got) != 1 || got[0].Reason != "bad 2" {
		t.Errorf("Rejected(tk_a, 1) = %+v, %v; want bad 2 only", got, err)
	}
}

func testStatsAndDelete(t *testing.T, b Backend) {
	ctx := t.Context()
	s := b.Open(t)
	idle := createTracker(t, s, "idle")
	busy := createTracker(t, s, "busy", "https://shop.example")
	put(t, s, Batch(t, busy.ID, "x", 3, now))
	put(t, s, Batch(t, busy.ID, "y", 2, now.Add(time.Second)))
	put(t, s, Batch(t, "tk_other", "x", 1, now))
	if err := b.Reject(ctx, s, &server.Rejection{ReceivedAt: now, TrackingID: busy.ID, Status: 403, Reason: "origin"}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].ID != idle.ID || st[1].ID != busy.ID {
		t.Fatalf("Stats = %+v, want idle then busy (oldest first)", st)
	}
	if st[0].Events != 0 || st[0].Rejected != 0 || !st[0].LastReceivedAt.IsZero() || st[0].Name != "idle" {
		t.Errorf("idle tracker's stats %+v", st[0])
	}
	if st[1].Events != 5 || st[1].Rejected != 1 || !st[1].LastReceivedAt.Equal(now.Add(time.Second)) ||
		!slices.Equal(st[1].Origins, []string{"https://shop.example"}) {
		t.Errorf("busy tracker's stats %+v, want 5 events, 1 rejection, last at %v", st[1], now.Add(time.Second))
	}
	if n, err := s.DeleteEvents(ctx, busy.ID); err != nil || n != 5 {
		t.Errorf("DeleteEvents(busy) = %d, %v; want 5", n, err)
	}
	if got := events(t, s, server.EventFilter{}); len(got) != 1 || got[0].TrackingID != "tk_other" {
		t.Errorf("after deleting busy's events: %+v, want tk_other's one", got)
	}
	if n, err := s.DeleteEvents(ctx, ""); err != nil || n != 1 {
		t.Errorf("DeleteEvents(all) = %d, %v; want 1", n, err)
	}
}
