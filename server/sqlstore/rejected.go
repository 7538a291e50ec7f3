package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tracklet/tracklet/server"
)

// InsertRejected logs r in the rejected table, its values cut to the
// bounds of server.Rejection.Bound. It does not bound the table: see
// TrimRejected.
func InsertRejected(ctx context.Context, q Querier, r *server.Rejection) error {
	b := *r
	b.Bound()
	// One statement: the running total it reads is the newest row's, even
	// with other writers (D1 runs each statement alone).
	_, err := q.ExecContext(ctx, `INSERT INTO rejected
		(received_at_ms, tracking_id, status, reason, origin, body, bytes, bytes_through)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7 + coalesce((SELECT bytes_through FROM rejected ORDER BY id DESC LIMIT 1), 0))`,
		b.ReceivedAt.UnixMilli(), nullIfEmpty(b.TrackingID), b.Status, b.Reason, nullIfEmpty(b.Origin), b.Body, b.Size())
	return err
}

// TrimRejected deletes all but the newest rejections, keeping at most
// keepRows of them and keepBytes of their text. A row is kept if it starts
// (its running total less its own size) within the newest keepBytes; the
// rows wholly before are a range on an index, and only the one row that
// straddles the edge is looked at: cheap when there is little to delete.
func TrimRejected(ctx context.Context, q Querier, keepRows int, keepBytes int64) error {
	_, err := q.ExecContext(ctx, `WITH edge(at) AS (SELECT max(bytes_through) - ?2 FROM rejected)
		DELETE FROM rejected WHERE id <= (SELECT max(id) FROM rejected) - ?1
		OR bytes_through <= (SELECT at FROM edge)
		OR id = (SELECT id FROM (SELECT id, bytes_through - bytes AS start FROM rejected
			WHERE bytes_through > (SELECT at FROM edge) ORDER BY bytes_through LIMIT 1)
			WHERE start < (SELECT at FROM edge))`, keepRows, keepBytes)
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
