package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracklet/tracklet/server"
)

// rejectedLog bounds the rejected table: every trimEvery inserts, rows
// beyond the newest max are deleted.
type rejectedLog struct {
	max      int
	inserted int // only touched by the writer goroutine
}

const trimEvery = 100

func (l *rejectedLog) insert(ctx context.Context, tx *sql.Tx, r *server.Rejection) error {
	body := r.Body
	if len(body) > server.MaxRejectedBody {
		body = body[:server.MaxRejectedBody]
	}
	body = strings.ToValidUTF8(body, "\uFFFD")
	_, err := tx.ExecContext(ctx, `INSERT INTO rejected (received_at_ms, tracking_id, status, reason, origin, body)
		VALUES (?, ?, ?, ?, ?, ?)`, r.ReceivedAt.UnixMilli(), nullIfEmpty(r.TrackingID), r.Status,
		truncate(r.Reason, 2048), nullIfEmpty(r.Origin), body)
	if err != nil {
		return err
	}
	l.inserted++
	if l.inserted%trimEvery == 0 || l.inserted == 1 {
		_, err = tx.ExecContext(ctx, `DELETE FROM rejected WHERE id <= (SELECT max(id) FROM rejected) - ?`, l.max)
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// RecordRejected queues r for the next group commit and returns at once.
// When the write queue is full the rejection is dropped: under a flood of
// bad requests, good ones come first.
func (db *DB) RecordRejected(r *server.Rejection) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return
	}
	select {
	case db.writes <- &writeReq{rejected: r}:
	default:
		db.log.Warn("rejected-requests log full; dropping one", "tracking_id", r.TrackingID)
	}
}

// Rejected returns up to limit rejections, newest first, of trackingID or
// of every tracker when it is empty.
func (db *DB) Rejected(ctx context.Context, trackingID string, limit int) ([]*server.Rejection, error) {
	if limit <= 0 {
		limit = 100
	}
	q, args := `SELECT id, received_at_ms, tracking_id, status, reason, origin, body FROM rejected`, []any{}
	if trackingID != "" {
		q, args = q+` WHERE tracking_id = ?`, append(args, trackingID)
	}
	rows, err := db.read.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("read rejected: %w", err)
	}
	defer rows.Close()
	var out []*server.Rejection
	for rows.Next() {
		var (
			r               server.Rejection
			ms              int64
			tracker, origin sql.NullString
		)
		if err := rows.Scan(&r.ID, &ms, &tracker, &r.Status, &r.Reason, &origin, &r.Body); err != nil {
			return nil, fmt.Errorf("read rejected: %w", err)
		}
		r.ReceivedAt, r.TrackingID, r.Origin = time.UnixMilli(ms), tracker.String, origin.String
		out = append(out, &r)
	}
	return out, rows.Err()
}
