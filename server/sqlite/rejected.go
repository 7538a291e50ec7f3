package sqlite

import (
	"context"
	"database/sql"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sqlstore"
)

// rejectedLog bounds the rejected table: at the first insert and every
// trimEvery-th, rows beyond the newest maxRows, or beyond the newest
// maxBytes of text, are deleted. Between trims the table may exceed
// either bound by trimEvery-1 rows of at most server.MaxRejectedRowBytes.
type rejectedLog struct {
	maxRows  int
	maxBytes int64
	inserted int // only touched by the writer goroutine
}

const trimEvery = 100

func (l *rejectedLog) insert(ctx context.Context, tx *sql.Tx, r *server.Rejection) error {
	if err := sqlstore.InsertRejected(ctx, tx, r); err != nil {
		return err
	}
	l.inserted++
	if l.inserted%trimEvery == 0 || l.inserted == 1 {
		return sqlstore.TrimRejected(ctx, tx, l.maxRows, l.maxBytes)
	}
	return nil
}

// RecordRejected queues r for the next group commit and returns at once.
// When the write queue is full the rejection is dropped: under a flood of
// bad requests, good ones come first.
func (db *DB) RecordRejected(r *server.Rejection) {
	r.Bound() // the queue holds only bounded values
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
	return sqlstore.Rejected(ctx, db.read, trackingID, limit)
}
