package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracklet/tracklet/server"
)

// DefaultMaxRejected is how many rejections the rejected table keeps unless
// a store is told otherwise.
const DefaultMaxRejected = 10000

// MaxReason bounds a stored rejection's reason, in bytes.
const MaxReason = 2048

// InsertRejected logs r in the rejected table, its body cut to
// server.MaxRejectedBody and its reason to MaxReason bytes, both kept valid
// UTF-8. It does not bound the table: see TrimRejected.
func InsertRejected(ctx context.Context, q Querier, r *server.Rejection) error {
	body := r.Body
	if len(body) > server.MaxRejectedBody {
		body = body[:server.MaxRejectedBody]
	}
	// Replacing invalid UTF-8 (a rune cut above, or the client's own) can
	// lengthen the body: cut it again, at a rune boundary.
	body = truncate(strings.ToValidUTF8(body, "\uFFFD"), server.MaxRejectedBody)
	_, err := q.ExecContext(ctx, `INSERT INTO rejected (received_at_ms, tracking_id, status, reason, origin, body)
		VALUES (?, ?, ?, ?, ?, ?)`, r.ReceivedAt.UnixMilli(), nullIfEmpty(r.TrackingID), r.Status,
		truncate(r.Reason, MaxReason), nullIfEmpty(r.Origin), body)
	return err
}

// TrimRejected deletes all but the newest keep rejections. The DELETE is a
// range on the primary key: cheap when there is little to delete.
func TrimRejected(ctx context.Context, q Querier, keep int) error {
	_, err := q.ExecContext(ctx, `DELETE FROM rejected WHERE id <= (SELECT max(id) FROM rejected) - ?`, keep)
	return err
}

// Rejected reads up to limit rejections (100 if limit <= 0), newest first,
// of trackingID or of every tracker when it is empty.
func Rejected(ctx context.Context, q Querier, trackingID string, limit int) ([]*server.Rejection, error) {
	if limit <= 0 {
		limit = 100
	}
	query, args := `SELECT id, received_at_ms, tracking_id, status, reason, origin, body FROM rejected`, []any{}
	if trackingID != "" {
		query, args = query+` WHERE tracking_id = ?`, append(args, trackingID)
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
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

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
