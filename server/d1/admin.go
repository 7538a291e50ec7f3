package d1

import (
	"context"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sqlstore"
)

var (
	_ server.Store = (*DB)(nil)
	_ server.Admin = (*DB)(nil)
)

// DeleteEvents deletes the events of trackingID (every event if it is
// empty) and returns how many there were, for resetting a test database.
func (db *DB) DeleteEvents(ctx context.Context, trackingID string) (int64, error) {
	return sqlstore.DeleteEvents(ctx, db.db, trackingID)
}

// Stats counts every tracker's events and kept rejections, oldest tracker
// first, as package sqlite does.
func (db *DB) Stats(ctx context.Context) ([]*server.TrackerStats, error) {
	return sqlstore.Stats(ctx, db.db)
}
