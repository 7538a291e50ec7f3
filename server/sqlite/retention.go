package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Retention deletes events older than Options.Retention, by the time the
// collector received them. Deleting a month of events in one statement
// would hold the single writer, and so every PutEvents, for as long as it
// takes; instead Retire finds where the old events end and hands the
// writer small batches, each one write of an ordinary group commit, so
// that ingest goes on between them.
const (
	// retireBatchSize is how many events one batch deletes: a few
	// milliseconds of the writer's time.
	retireBatchSize = 500
	// retireEvery is how often the background sweep runs, when Options
	// does not say.
	retireEvery = time.Minute
)

// retireReq asks the writer to delete up to limit events with seq < below
// that were received before beforeMs.
type retireReq struct {
	below, beforeMs int64
	limit           int
}

// retireBatch runs in the writer's transaction. Events are stored in
// arrival order, so the old ones are at the start of the table and the
// subquery reads little beyond what it deletes.
func (db *DB) retireBatch(ctx context.Context, tx *sql.Tx, r *retireReq) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE seq IN (
		SELECT seq FROM events WHERE seq < ? AND received_at_ms < ? ORDER BY seq LIMIT ?)`,
		r.below, r.beforeMs, r.limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Retire deletes every event received more than retention ago (by the
// store's clock) and returns how many it deleted. It runs in batches of
// retireBatchSize events, each committed on its own between other writes.
// The background sweep of Options.Retention calls it; it is exported for
// `tracklet` tools and tests.
func (db *DB) Retire(ctx context.Context, retention time.Duration) (int64, error) {
	if retention <= 0 {
		return 0, fmt.Errorf("retention %v: want a positive duration", retention)
	}
	before := db.now().Add(-retention).UnixMilli()
	// The first event young enough to keep bounds the deletes: events
	// that arrive while the sweep runs are never looked at. The scan to
	// it reads the old events once, on a reader, beside the writer.
	var below int64
	err := db.read.QueryRowContext(ctx,
		"SELECT seq FROM events WHERE received_at_ms >= ? ORDER BY seq LIMIT 1", before).Scan(&below)
	if errors.Is(err, sql.ErrNoRows) {
		err = db.read.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM events").Scan(&below)
	}
	if err != nil {
		return 0, fmt.Errorf("retention: find old events: %w", err)
	}
	var deleted int64
	for {
		req := &writeReq{ctx: ctx, retire: &retireReq{below: below, beforeMs: before, limit: retireBatchSize},
			done: make(chan writeResult, 1)}
		if err := db.enqueue(ctx, req); err != nil {
			return deleted, fmt.Errorf("retention: %w", err)
		}
		var res writeResult
		select {
		case res = <-req.done:
		case <-ctx.Done():
			return deleted, fmt.Errorf("retention: %w", ctx.Err())
		}
		if res.err != nil {
			return deleted, fmt.Errorf("retention: delete old events: %w", res.err)
		}
		deleted += int64(res.accepted)
		if db.retireHook != nil {
			db.retireHook(res.accepted)
		}
		if res.accepted < retireBatchSize {
			return deleted, nil
		}
	}
}

// retirer sweeps at start and then every db.retireEvery until ctx ends.
func (db *DB) retirer(ctx context.Context, retention time.Duration) {
	defer close(db.retireDone)
	tick := time.NewTicker(db.retireEvery)
	defer tick.Stop()
	for {
		n, err := db.Retire(ctx, retention)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			db.log.Warn("retention sweep", "err", err, "deleted", n)
		case n > 0:
			db.log.Info("retention sweep", "deleted", n, "older_than", retention.String())
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}
