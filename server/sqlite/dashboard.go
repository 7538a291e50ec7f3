package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sqlstore"
)

// The dashboard's queries. They read only recent events, and find where
// "recent" starts in the events table by Seq rather than through an index
// on received_at_ms: Seq grows with arrival, so a binary search over it
// costs a few dozen primary-key lookups, and ingest pays for no extra
// index. Receive times are stamped just before a request joins the write
// queue, so they may run a few milliseconds out of Seq order; the searches
// start a minute early and every query still filters on the exact time.
const seqSlack = time.Minute

// TrafficStats summarises trackingID's traffic over the last
// server.DashboardMinutes minutes up to now.
func (db *DB) TrafficStats(ctx context.Context, trackingID string, now time.Time) (*server.TrafficStats, error) {
	from := now.Truncate(time.Minute).Add(-(server.DashboardMinutes - 1) * time.Minute)
	st := &server.TrafficStats{TrackingID: trackingID, From: from, Now: now, PerMinute: make([]int64, server.DashboardMinutes)}
	start, err := db.seqReceivedSince(ctx, from.Add(-seqSlack))
	if err != nil {
		return nil, err
	}
	fromMs := from.UnixMilli()

	// One pass over the hour gives both the chart and the type counts.
	rows, err := db.read.QueryContext(ctx, `SELECT (received_at_ms - ?) / 60000, event_type, count(*) FROM events
		WHERE tracking_id = ? AND seq >= ? AND received_at_ms >= ? GROUP BY 1, 2`, fromMs, trackingID, start, fromMs)
	if err != nil {
		return nil, fmt.Errorf("dashboard: count events: %w", err)
	}
	byType := make(map[string]int64)
	for rows.Next() {
		var (
			minute, n int64
			eventType string
		)
		if err := rows.Scan(&minute, &eventType, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("dashboard: count events: %w", err)
		}
		// An event received "after now" (now is a little behind the
		// writer) counts in the current minute.
		minute = min(minute, server.DashboardMinutes-1)
		st.PerMinute[minute] += n
		st.Events += n
		byType[eventType] += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dashboard: count events: %w", err)
	}
	for t, n := range byType {
		st.ByEventType = append(st.ByEventType, server.TypeCount{EventType: t, Count: n})
	}
	slices.SortFunc(st.ByEventType, func(a, b server.TypeCount) int {
		if a.Count != b.Count {
			return int(b.Count - a.Count)
		}
		return strings.Compare(a.EventType, b.EventType)
	})

	activeFrom := now.Add(-server.ActiveSessionWindow)
	activeStart, err := db.seqReceivedSince(ctx, activeFrom.Add(-seqSlack))
	if err != nil {
		return nil, err
	}
	if err := db.read.QueryRowContext(ctx, `SELECT count(DISTINCT session_id) FROM events
		WHERE tracking_id = ? AND seq >= ? AND received_at_ms >= ?`,
		trackingID, activeStart, activeFrom.UnixMilli()).Scan(&st.ActiveSessions); err != nil {
		return nil, fmt.Errorf("dashboard: count sessions: %w", err)
	}

	if err := db.medians(ctx, st, start, fromMs); err != nil {
		return nil, err
	}
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM rejected WHERE tracking_id = ? AND received_at_ms >= ?`,
		trackingID, fromMs).Scan(&st.Rejected); err != nil {
		return nil, fmt.Errorf("dashboard: count rejected: %w", err)
	}
	return st, nil
}

// medians fills in the delay and skew medians over the hour's most recent
// events, at most server.MedianSample of them.
func (db *DB) medians(ctx context.Context, st *server.TrafficStats, start, fromMs int64) error {
	rows, err := db.read.QueryContext(ctx, `SELECT received_at_ms - occurred_at_ms, sent_at_ms - occurred_at_ms FROM events
		WHERE tracking_id = ? AND seq >= ? AND received_at_ms >= ? ORDER BY seq DESC LIMIT ?`,
		st.TrackingID, start, fromMs, server.MedianSample)
	if err != nil {
		return fmt.Errorf("dashboard: read delays: %w", err)
	}
	defer rows.Close()
	var delays, skews []int64
	for rows.Next() {
		var d, s int64
		if err := rows.Scan(&d, &s); err != nil {
			return fmt.Errorf("dashboard: read delays: %w", err)
		}
		delays, skews = append(delays, d), append(skews, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("dashboard: read delays: %w", err)
	}
	st.Sampled = len(delays)
	if st.Sampled > 0 {
		st.MedianDelay = time.Duration(median(delays)) * time.Millisecond
		st.MedianSkew = time.Duration(median(skews)) * time.Millisecond
	}
	return nil
}

// median returns the middle value of xs (the lower middle of an even
// count), reordering xs.
func median(xs []int64) int64 {
	slices.Sort(xs)
	return xs[(len(xs)-1)/2]
}

// seqReceivedSince returns a Seq such that "seq >= it" selects exactly the
// events received at or after t (when receive times grow with Seq): the
// smallest such event's Seq, or a number in the gap before it, or one past
// the newest Seq if there is none. It searches by halving the Seq range.
func (db *DB) seqReceivedSince(ctx context.Context, t time.Time) (int64, error) {
	var lo, hi sql.NullInt64
	if err := db.read.QueryRowContext(ctx, `SELECT min(seq), max(seq) FROM events`).Scan(&lo, &hi); err != nil {
		return 0, fmt.Errorf("dashboard: find recent events: %w", err)
	}
	if !lo.Valid {
		return 0, nil
	}
	tMs := t.UnixMilli()
	// The answer is in [l, h]; h = max+1 means "none".
	l, h := lo.Int64, hi.Int64+1
	for l < h {
		mid := l + (h-l)/2
		var seq, received int64
		// Seqs may have gaps (deleted events): take the first at or after mid.
		err := db.read.QueryRowContext(ctx, `SELECT seq, received_at_ms FROM events WHERE seq >= ? ORDER BY seq LIMIT 1`, mid).
			Scan(&seq, &received)
		if errors.Is(err, sql.ErrNoRows) { // deleted since we looked
			h = mid
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("dashboard: find recent events: %w", err)
		}
		// Seqs in [mid, seq) do not exist, so "seq >= mid" and
		// "seq >= that seq" select the same rows.
		if received >= tMs {
			h = mid
		} else {
			l = min(seq+1, h)
		}
	}
	return l, nil
}

// LastSeq returns the Seq of the newest stored event, 0 if there is none.
func (db *DB) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := db.read.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("dashboard: newest event: %w", err)
	}
	return seq, nil
}

// EventsAfter returns up to limit events of every tracker with a Seq above
// afterSeq, in Seq order: what the live feed has not published yet.
func (db *DB) EventsAfter(ctx context.Context, afterSeq int64, limit int) ([]*server.StoredEvent, error) {
	var out []*server.StoredEvent
	for e, err := range db.Events(ctx, server.EventFilter{AfterSeq: afterSeq, Limit: limit}) {
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// RecentEvents returns up to limit of the newest events f selects that were
// received since since and have a Seq above afterSeq, oldest first: what a
// live stream shows when it opens, or missed while it was away.
func (db *DB) RecentEvents(ctx context.Context, f server.StreamFilter, since time.Time, afterSeq int64, limit int) ([]*server.StoredEvent, error) {
	start, err := db.seqReceivedSince(ctx, since.Add(-seqSlack))
	if err != nil {
		return nil, err
	}
	where := []string{"seq >= ?", "received_at_ms >= ?"}
	args := []any{max(start, afterSeq+1), since.UnixMilli()}
	for _, c := range []struct{ column, value string }{
		{"tracking_id", f.TrackingID}, {"event_type", f.EventType}, {"user_id", f.UserID}, {"session_id", f.SessionID},
	} {
		if c.value != "" {
			where = append(where, c.column+" = ?")
			args = append(args, c.value)
		}
	}
	rows, err := db.read.QueryContext(ctx, `SELECT seq, `+sqlstore.EventColumns+` FROM events WHERE `+
		strings.Join(where, " AND ")+` ORDER BY seq DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("dashboard: recent events: %w", err)
	}
	defer rows.Close()
	var out []*server.StoredEvent
	for rows.Next() {
		e, err := sqlstore.ScanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("dashboard: recent events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dashboard: recent events: %w", err)
	}
	slices.Reverse(out)
	return out, nil
}
