// Package d1 stores the collector's trackers and events in Cloudflare D1,
// with the same tables as package sqlite (D1 is SQLite), so that tools and
// queries work on either.
//
// It is a sibling of package sqlite behind the interfaces of package server,
// and runs the same SQL (package sqlstore). It speaks plain database/sql: in
// the Worker (server/worker) the *sql.DB comes from syumai/workers' D1
// driver, in native tests from modernc.org/sqlite with the same migrations
// applied. The D1 driver has no transactions and D1
// allows at most 100 bound variables per statement, so nothing here needs
// a transaction and a queue batch goes in as one JSON parameter
// (sqlstore.InsertJSONSQL, the one INSERT of package sqlite fed from JSON);
// writes are idempotent besides (see Insert).
package d1

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"time"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sqlstore"
	"github.com/tracklet/tracklet/server/token"
)

// MaxVariables is D1's limit on bound parameters in one statement.
const MaxVariables = 100

// MaxStatementJSON is how many bytes of rows one INSERT's JSON parameter
// carries at most. D1 refuses a string over 2,000,000 bytes; a queue batch
// (100 messages of usually a few KB) fits in one statement, the largest
// possible (100 of 128 KB) in 13, under the free plan's 50 queries per
// invocation.
const MaxStatementJSON = 1_000_000

// DB is a Tracklet database on D1. It implements server.Store and
// server.Admin, and Insert for the queue consumer. Its methods are safe for
// concurrent use.
type DB struct {
	// MaxRejected and MaxRejectedBytes bound the rejected table in rows
	// and bytes; 0 means server.DefaultMaxRejected and
	// server.DefaultMaxRejectedBytes.
	MaxRejected      int
	MaxRejectedBytes int64

	db  *sql.DB
	now func() time.Time
}

// New returns a DB on db, whose schema the migrations in
// server/sqlite/migrations have created (wrangler.jsonc's migrations_dir
// points there).
func New(db *sql.DB) *DB {
	return &DB{db: db, now: time.Now}
}

// Tracker returns the tracker with trackingId id, or server.ErrTrackerNotFound.
func (db *DB) Tracker(ctx context.Context, id string) (*server.Tracker, error) {
	return sqlstore.Tracker(ctx, db.db, id)
}

// OriginAllowed reports whether some enabled tracker accepts origin.
func (db *DB) OriginAllowed(ctx context.Context, origin string) (bool, error) {
	return sqlstore.OriginAllowed(ctx, db.db, origin)
}

// CreateTracker stores a new tracker with the given name and allowed
// origins (normalised; none allows every origin) and a fresh trackingId
// (token.NewTrackingID), and returns it, as package sqlite does.
func (db *DB) CreateTracker(ctx context.Context, name string, origins []string) (*server.Tracker, error) {
	t, err := sqlstore.NewTracker(token.NewTrackingID(), name, origins, db.now())
	if err != nil {
		return nil, err
	}
	if err := sqlstore.InsertTracker(ctx, db.db, t); err != nil {
		return nil, err
	}
	return t, nil
}

// SetTrackerDisabled disables (or re-enables) a tracker: a disabled
// tracker's events are refused as if it did not exist.
func (db *DB) SetTrackerDisabled(ctx context.Context, id string, disabled bool) error {
	return sqlstore.SetTrackerDisabled(ctx, db.db, id, disabled)
}

// PutEvents stores b at once, in one statement: the Worker enqueues
// batches instead (server/worker.Store) and its consumer calls Insert;
// this is server.Store's write for callers without a queue.
func (db *DB) PutEvents(ctx context.Context, b *server.Batch) (server.PutResult, error) {
	res, err := db.Insert(ctx, []*server.Batch{b})
	return res.PutResult, err
}

// InsertResult is what Insert did.
type InsertResult struct {
	server.PutResult
	// Statements counts the statements it ran: one per MaxStatementJSON
	// bytes of rows, so usually one per queue batch.
	Statements int
}

// Insert stores the events of batches, in order, and counts what it did.
// Every event must have an eventId already (the queue producer assigns
// them, so that a redelivered batch carries the same ids).
//
// The events go as one JSON parameter into one INSERT … SELECT … FROM
// json_each(?) … ON CONFLICT (tracking_id, event_id) DO NOTHING (more only
// if they exceed MaxStatementJSON), so a batch is stored atomically. If
// there are several statements, an error can leave some applied; the
// caller then retries all of batches, and the unique index turns the rows
// already stored into duplicates. So a retry never stores an event twice:
// at-least-once delivery becomes exactly-once storage. (Duplicates counts
// them, so on a retry it over-counts what the client sent twice.)
func (db *DB) Insert(ctx context.Context, batches []*server.Batch) (InsertResult, error) {
	var (
		res  InsertResult
		rows sqlstore.Rows
	)
	flush := func() error {
		if rows.Len() == 0 {
			return nil
		}
		r, err := db.db.ExecContext(ctx, sqlstore.InsertJSONSQL, rows.Param())
		res.Statements++
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		res.Accepted += int(n)
		res.Duplicates += rows.Len() - int(n)
		rows.Reset()
		return nil
	}
	for _, b := range batches {
		for i := range b.Request.EventList {
			row, err := rows.Encode(b, &b.Request.EventList[i])
			if err != nil {
				return res, err
			}
			if rows.Len() > 0 && rows.SizeWith(row) > MaxStatementJSON {
				if err := flush(); err != nil {
					return res, err
				}
			}
			rows.Add(row)
		}
	}
	return res, flush()
}

// pageSize is how many events Events reads per query. The D1 driver
// materialises a whole result in memory, so pages keep that bounded.
const pageSize = 500

// Events yields the events f selects in arrival (Seq) order, a page at a
// time.
func (db *DB) Events(ctx context.Context, f server.EventFilter) iter.Seq2[*server.StoredEvent, error] {
	return sqlstore.Events(ctx, db.db, f, pageSize)
}
