package d1

import (
	"cmp"
	"context"
	"fmt"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sqlstore"
)

// InsertRejected logs r in the rejected table and trims the table to the
// newest db.MaxRejected rows and db.MaxRejectedBytes bytes. Each worker invocation is a fresh program with
// no counter to trim every hundredth time, so it trims every time; the
// DELETE is a range on the primary key and usually deletes one row.
func (db *DB) InsertRejected(ctx context.Context, r *server.Rejection) error {
	if err := sqlstore.InsertRejected(ctx, db.db, r); err != nil {
		return fmt.Errorf("log rejected request: %w", err)
	}
	keep := cmp.Or(max(db.MaxRejected, 0), server.DefaultMaxRejected)
	keepBytes := cmp.Or(max(db.MaxRejectedBytes, 0), server.DefaultMaxRejectedBytes)
	if err := sqlstore.TrimRejected(ctx, db.db, keep, keepBytes); err != nil {
		return fmt.Errorf("trim rejected requests: %w", err)
	}
	return nil
}

// Rejected returns up to limit rejections, newest first, of trackingID or
// of every tracker when it is empty.
func (db *DB) Rejected(ctx context.Context, trackingID string, limit int) ([]*server.Rejection, error) {
	return sqlstore.Rejected(ctx, db.db, trackingID, limit)
}
