package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
)

func openDashboardDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// put stores one request of events of the given types, received at
// received; the client sent it at clientSent (zero: unknown) and each event
// happened sentBefore earlier on the client's clock.
func put(t *testing.T, db *DB, tid, session, user string, received, clientSent time.Time, sentBefore time.Duration, types ...string) {
	t.Helper()
	req := &event.Request{TrackingID: tid, SessionID: session}
	if user != "" {
		req.UserID = &user
	}
	clientNow := received
	if !clientSent.IsZero() {
		clientNow = clientSent
	}
	for _, typ := range types {
		req.EventList = append(req.EventList, event.Event{EventType: typ, SentAt: event.TimestampOf(clientNow.Add(-sentBefore))})
	}
	if err := server.AssignEventIDs(req); err != nil { // as the handler does
		t.Fatal(err)
	}
	if _, err := db.PutEvents(context.Background(), &server.Batch{Request: req, ReceivedAt: received, ClientSentAt: clientSent}); err != nil {
		t.Fatal(err)
	}
}

func TestTrafficStats(t *testing.T) {
	db := openDashboardDB(t)
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 30, 20, 0, time.UTC)
	from := time.Date(2026, 5, 1, 11, 31, 0, 0, time.UTC) // the first of 60 minutes

	// Outside the hour: two hours ago, and one millisecond before From.
	put(t, db, "tk_a", "old", "", now.Add(-2*time.Hour), time.Time{}, 0, "View")
	put(t, db, "tk_a", "old", "", from.Add(-time.Millisecond), time.Time{}, 0, "View")
	// The first minute: from exactly, a session that is no longer active.
	put(t, db, "tk_a", "s1", "", from, time.Time{}, 2*time.Second, "View", "View", "Rate")
	// Twenty minutes ago: a client whose clock is 1 h ahead, events 4 s old.
	put(t, db, "tk_a", "s2", "ana", now.Add(-20*time.Minute), now.Add(-20*time.Minute+time.Hour), 4*time.Second, "View")
	// The current minute, a client 3 s behind reporting its send time.
	put(t, db, "tk_a", "s3", "", now, now.Add(-3*time.Second), 6*time.Second, "Rate", "SignIn")
	// Another tracker, same times: must not count.
	put(t, db, "tk_b", "s1", "", now, time.Time{}, 0, "View", "View", "View")
	db.RecordRejected(&server.Rejection{ReceivedAt: now.Add(-time.Minute), TrackingID: "tk_a", Status: 400, Reason: "x"})
	db.RecordRejected(&server.Rejection{ReceivedAt: now.Add(-2 * time.Hour), TrackingID: "tk_a", Status: 400, Reason: "old"})
	db.RecordRejected(&server.Rejection{ReceivedAt: now, TrackingID: "tk_b", Status: 403, Reason: "other"})
	put(t, db, "tk_c", "flush", "", now, time.Time{}, 0, "X") // rejections are written with the next commit

	st, err := db.TrafficStats(ctx, "tk_a", now)
	if err != nil {
		t.Fatal(err)
	}
	if !st.From.Equal(from) || len(st.PerMinute) != 60 {
		t.Fatalf("From %v with %d buckets, want %v and 60", st.From, len(st.PerMinute), from)
	}
	want := make([]int64, 60)
	want[0], want[39], want[59] = 3, 1, 2
	if fmt.Sprint(st.PerMinute) != fmt.Sprint(want) {
		t.Errorf("PerMinute\n got %v\nwant %v", st.PerMinute, want)
	}
	if st.Events != 6 {
		t.Errorf("Events = %d, want 6", st.Events)
	}
	if got := fmt.Sprint(st.ByEventType); got != "[{View 3} {Rate 2} {SignIn 1}]" {
		t.Errorf("ByEventType = %s", got)
	}
	if st.ActiveSessions != 2 { // s2 and s3; s1 was an hour ago
		t.Errorf("ActiveSessions = %d, want 2", st.ActiveSessions)
	}
	if st.Rejected != 1 {
		t.Errorf("Rejected = %d, want 1", st.Rejected)
	}
	// Delays: s1 2 s ×3, s2 4 s, s3 6 s ×2 → median 2 s (the lower middle of 2,2,2,4,6,6).
	// Skews: 0 ×3 (unknown), +1 h, −3 s ×2 → median 0.
	if st.Sampled != 6 || st.MedianDelay != 2*time.Second || st.MedianSkew != 0 {
		t.Errorf("Sampled %d, MedianDelay %v, MedianSkew %v; want 6, 2s, 0", st.Sampled, st.MedianDelay, st.MedianSkew)
	}

	// Skew alone: only the client 3 s behind.
	put(t, db, "tk_d", "s", "", now, now.Add(-3*time.Second), time.Second, "A", "B", "C")
	st, err = db.TrafficStats(ctx, "tk_d", now)
	if err != nil {
		t.Fatal(err)
	}
	if st.MedianSkew != -3*time.Second || st.MedianDelay != time.Second {
		t.Errorf("tk_d: MedianSkew %v, MedianDelay %v; want -3s, 1s", st.MedianSkew, st.MedianDelay)
	}

	empty, err := db.TrafficStats(ctx, "tk_none", now)
	if err != nil {
		t.Fatal(err)
	}
	if empty.Events != 0 || empty.Sampled != 0 || len(empty.ByEventType) != 0 || len(empty.PerMinute) != 60 {
		t.Errorf("unknown tracker: %+v", empty)
	}
}

func TestSeqReceivedSince(t *testing.T) {
	db := openDashboardDB(t)
	ctx := context.Background()
	base := time.UnixMilli(1_700_000_000_000)
	if seq, err := db.seqReceivedSince(ctx, base); err != nil || seq != 0 {
		t.Fatalf("empty table: %d, %v", seq, err)
	}
	for i := 0; i < 100; i++ { // seq i+1 received at base + i s
		put(t, db, "tk", "s", "", base.Add(time.Duration(i)*time.Second), time.Time{}, 0, "View")
	}
	// Gaps, as after deleting a tracker's events.
	if _, err := db.write.ExecContext(ctx, `DELETE FROM events WHERE seq BETWEEN 40 AND 60`); err != nil {
		t.Fatal(err)
	}
	// What matters is that "seq >= result" selects exactly the events
	// received since then; in the gap, any Seq of the gap does.
	for _, at := range []time.Duration{-time.Hour, 0, time.Millisecond, 10 * time.Second, 38 * time.Second,
		39 * time.Second, 50 * time.Second, 60 * time.Second, 99 * time.Second, 100 * time.Second, time.Hour} {
		since := base.Add(at)
		got, err := db.seqReceivedSince(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		var bySeq, byTime int
		db.read.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE seq >= ?`, got).Scan(&bySeq)
		db.read.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE received_at_ms >= ?`, since.UnixMilli()).Scan(&byTime)
		if bySeq != byTime {
			t.Errorf("since base+%v: seq >= %d selects %d events, want %d", at, got, bySeq, byTime)
		}
	}
}

func TestRecentEventsAndEventsAfter(t *testing.T) {
	db := openDashboardDB(t)
	ctx := context.Background()
	now := time.Now()
	put(t, db, "tk", "old", "", now.Add(-2*time.Hour), time.Time{}, 0, "View")
	for i := 0; i < 5; i++ {
		put(t, db, "tk", fmt.Sprint("s", i%2), map[bool]string{true: "ana"}[i == 3], now.Add(time.Duration(i)*time.Second), time.Time{}, 0,
			[]string{"View", "Rate"}[i%2])
	}
	put(t, db, "other", "s0", "", now, time.Time{}, 0, "View")

	tests := []struct {
		name  string
		f     server.StreamFilter
		after int64
		limit int
		want  string // seqs
	}{
		{"tracker", server.StreamFilter{TrackingID: "tk"}, 0, 10, "[2 3 4 5 6]"},
		{"newest 2, oldest first", server.StreamFilter{TrackingID: "tk"}, 0, 2, "[5 6]"},
		{"after seq 4", server.StreamFilter{TrackingID: "tk"}, 4, 10, "[5 6]"},
		{"eventType", server.StreamFilter{TrackingID: "tk", EventType: "Rate"}, 0, 10, "[3 5]"},
		{"userId", server.StreamFilter{TrackingID: "tk", UserID: "ana"}, 0, 10, "[5]"},
		{"sessionId", server.StreamFilter{TrackingID: "tk", SessionID: "s0"}, 0, 10, "[2 4 6]"},
		{"every tracker", server.StreamFilter{SessionID: "s0"}, 0, 10, "[2 4 6 7]"},
		{"no match", server.StreamFilter{TrackingID: "tk", EventType: "Nope"}, 0, 10, "[]"},
	}
	for _, tt := range tests {
		evs, err := db.RecentEvents(ctx, tt.f, now.Add(-time.Hour), tt.after, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if got := seqs(evs); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
	evs, _ := db.RecentEvents(ctx, server.StreamFilter{TrackingID: "tk", UserID: "ana"}, now.Add(-time.Hour), 0, 1)
	if len(evs) != 1 || evs[0].EventType != "Rate" || *evs[0].UserID != "ana" || evs[0].SessionID != "s1" {
		t.Errorf("event read back wrongly: %+v", evs[0])
	}

	after, err := db.EventsAfter(ctx, 3, 3)
	if err != nil || seqs(after) != "[4 5 6]" {
		t.Errorf("EventsAfter(3, 3) = %s, %v", seqs(after), err)
	}
	if last, err := db.LastSeq(ctx); err != nil || last != 7 {
		t.Errorf("LastSeq = %d, %v; want 7", last, err)
	}
}

func seqs(evs []*server.StoredEvent) string {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return fmt.Sprint(out)
}

// BenchmarkTrafficStats reads the stats of a tracker that received
// 100,000 events in the last hour, among 100,000 older ones and another
// tracker's 100,000.
func BenchmarkTrafficStats(b *testing.B) {
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "b.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	fill := func(tid string, from time.Time, span time.Duration) {
		for i := 0; i < 10000; i++ {
			req := &event.Request{TrackingID: tid, SessionID: fmt.Sprint("s", i%500)}
			at := from.Add(span * time.Duration(i) / 10000)
			for j := 0; j < 10; j++ {
				req.EventList = append(req.EventList, event.Event{EventType: fmt.Sprint("T", j%4), SentAt: event.TimestampOf(at.Add(-time.Second))})
			}
			if err := server.AssignEventIDs(req); err != nil {
				b.Fatal(err)
			}
			if _, err := db.PutEvents(context.Background(), &server.Batch{Request: req, ReceivedAt: at}); err != nil {
				b.Fatal(err)
			}
		}
	}
	fill("tk_a", now.Add(-3*time.Hour), time.Hour)
	fill("tk_a", now.Add(-time.Hour), time.Hour)
	fill("tk_b", now.Add(-time.Hour), time.Hour)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := db.TrafficStats(context.Background(), "tk_a", now)
		if err != nil {
			b.Fatal(err)
		}
		if st.Events < 95000 { // the hour starts at a whole minute
			b.Fatalf("%d events", st.Events)
		}
	}
}
