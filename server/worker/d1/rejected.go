package d1

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracklet/tracklet/server"
)

// DefaultMaxRejected is how many rejections the rejected table keeps by
// default, as in package sqlite.
const DefaultMaxRejected = 10000

// maxReason bounds a stored rejection's reason, as package sqlite does.
const maxReason = 2048

// InsertRejected logs r in the rejected table and trims the table to the
// newest db.MaxRejected rows. Each worker invocation is a fresh program with
// no counter to trim every hundredth time, so it trims every time; the
// DELETE is a range on the primary key and usually deletes one row.
func (db *DB) InsertRejected(ctx context.Context, r *server.Rejection) error {
	body := r.Body
	if len(body) > server.MaxRejectedBody {
		body = body[:server.MaxRejectedBody]
	}
	body = strings.ToValidUTF8(body, "\uFFFD")
	if _, err := db.db.ExecContext(ctx, `INSERT INTO rejected (received_at_ms, tracking_id, status, reason, origin, body)
		VALUES (?, ?, ?, ?, ?, ?)`, r.ReceivedAt.UnixMilli(), nullIfEmpty(r.TrackingID), r.Status,
		truncate(r.Reason, maxReason), nullIfEmpty(r.Origin), body); err != nil {
		return fmt.Errorf("log rejected request: %w", err)
	}
	keep := db.MaxRejected
	if keep <= 0 {
		keep = DefaultMaxRejected
	}
	if _, err := db.db.ExecContext(ctx, `DELETE FROM rejected WHERE id <= (SELECT max(id) FROM rejected) - ?`, keep); err != nil {
		return fmt.Errorf("trim rejected requests: %w", err)
	}
	return nil
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
	rows, err := db.db.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
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
