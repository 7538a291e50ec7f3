package sqlite

import (
	"context"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sqlstore"
	"github.com/tracklet/tracklet/server/token"
)

// CreateTracker stores a new tracker with the given name and allowed
// origins (normalised; none allows every origin) and a fresh trackingId
// (token.NewTrackingID), and returns it.
func (db *DB) CreateTracker(ctx context.Context, name string, origins []string) (*server.Tracker, error) {
	t, err := sqlstore.NewTracker(token.NewTrackingID(), name, origins, db.now())
	if err != nil {
		return nil, err
	}
	if err := sqlstore.InsertTracker(ctx, db.write, t); err != nil {
		return nil, err
	}
	return t, nil
}

// Tracker returns the tracker with trackingId id, or server.ErrTrackerNotFound.
// A tracker found is cached for trackerTTL; a miss always reads the
// database, so a tracker another process creates counts at once, and one
// it disables within trackerTTL.
func (db *DB) Tracker(ctx context.Context, id string) (*server.Tracker, error) {
	now := db.now()
	cached, gen, ok := db.trackers.get(id, now)
	if ok {
		return cached, nil
	}
	t, err := sqlstore.Tracker(ctx, db.read, id)
	if err != nil {
		return nil, err
	}
	db.trackers.put(t, gen, now)
	return t, nil
}

// Trackers returns every tracker, oldest first.
func (db *DB) Trackers(ctx context.Context) ([]*server.Tracker, error) {
	return sqlstore.Trackers(ctx, db.read)
}

// SetTrackerDisabled disables (or re-enables) a tracker: a disabled
// tracker's events are refused as if it did not exist.
func (db *DB) SetTrackerDisabled(ctx context.Context, id string, disabled bool) error {
	err := sqlstore.SetTrackerDisabled(ctx, db.write, id, disabled)
	db.trackers.forget(id)
	return err
}

// SetTrackerSigV4 makes a tracker require AWS SigV4 with key on /events,
// or (key nil) stop requiring it.
func (db *DB) SetTrackerSigV4(ctx context.Context, id string, key *server.AccessKey) error {
	err := sqlstore.SetTrackerSigV4(ctx, db.write, id, key)
	db.trackers.forget(id)
	return err
}

// OriginAllowed reports whether some enabled tracker accepts origin.
func (db *DB) OriginAllowed(ctx context.Context, origin string) (bool, error) {
	return sqlstore.OriginAllowed(ctx, db.read, origin)
}

// Stats returns every tracker's totals.
func (db *DB) Stats(ctx context.Context) ([]*server.TrackerStats, error) {
	return sqlstore.Stats(ctx, db.read)
}
