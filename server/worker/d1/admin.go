package d1

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tracklet/tracklet/server"
)

var _ server.Admin = (*DB)(nil)

// DeleteEvents deletes the events of trackingID (every event if it is
// empty) and returns how many there were, for resetting a test database.
func (db *DB) DeleteEvents(ctx context.Context, trackingID string) (int64, error) {
	q, args := `DELETE FROM events`, []any{}
	if trackingID != "" {
		q, args = q+` WHERE tracking_id = ?`, append(args, trackingID)
	}
	res, err := db.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("delete events: %w", err)
	}
	return res.RowsAffected()
}

// Stats counts every tracker's events and kept rejections, oldest tracker
// first, as package sqlite does.
func (db *DB) Stats(ctx context.Context) ([]*server.TrackerStats, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT t.id, t.name, t.origins, t.disabled, t.created_at_ms,
		(SELECT count(*) FROM events WHERE tracking_id = t.id),
		(SELECT count(*) FROM rejected WHERE tracking_id = t.id),
		(SELECT max(received_at_ms) FROM events WHERE tracking_id = t.id)
		FROM trackers t ORDER BY t.created_at_ms, t.id`)
	if err != nil {
		return nil, fmt.Errorf("read stats: %w", err)
	}
	defer rows.Close()
	var out []*server.TrackerStats
	for rows.Next() {
		var (
			st                server.TrackerStats
			origins           string
			disabled, created int64
			last              sql.NullInt64
		)
		if err := rows.Scan(&st.ID, &st.Name, &origins, &disabled, &created, &st.Events, &st.Rejected, &last); err != nil {
			return nil, fmt.Errorf("read stats: %w", err)
		}
		if err := json.Unmarshal([]byte(origins), &st.Origins); err != nil {
			return nil, fmt.Errorf("tracker %s: origins: %w", st.ID, err)
		}
		st.Disabled = disabled != 0
		st.CreatedAt = time.UnixMilli(created)
		if last.Valid {
			st.LastReceivedAt = time.UnixMilli(last.Int64)
		}
		out = append(out, &st)
	}
	return out, rows.Err()
}
