// Package d1 stores the collector's trackers and events in Cloudflare D1,
// with the same tables as package sqlite (D1 is SQLite), so that tools and
// queries work on either.
//
// It speaks plain database/sql: in the worker the *sql.DB comes from
// syumai/workers' D1 driver, in native tests from modernc.org/sqlite with
// the same migrations applied. The D1 driver has no transactions and D1
// allows at most 100 bound variables per statement, so nothing here needs
// a transaction and every insert is chunked to fit; instead of atomicity,
// writes are idempotent (see Insert).
package d1

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sqlstore"
)

// MaxVariables is D1's limit on bound parameters in one statement.
const MaxVariables = 100

// rowsPerInsert is how many events one INSERT carries: 7 × 14 = 98
// variables, the most that fit under MaxVariables.
const rowsPerInsert = MaxVariables / sqlstore.ColumnsPerEvent

// DB is a Tracklet database on D1. It implements server.Store's reads
// (Tracker, OriginAllowed), server.EventReader, and Insert for the queue
// consumer. Its methods are safe for concurrent use.
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
// server/worker/migrations have created.
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

// CreateTracker stores a new tracker with the given id, name and allowed
// origins (normalised; none allows every origin).
func (db *DB) CreateTracker(ctx context.Context, id, name string, origins []string) (*server.Tracker, error) {
	if id == "" || strings.TrimSpace(name) == "" {
		return nil, errors.New("a tracker needs an id and a name")
	}
	t, err := sqlstore.NewTracker(id, name, origins, db.now())
	if err != nil {
		return nil, err
	}
	if err := sqlstore.InsertTracker(ctx, db.db, t); err != nil {
		return nil, err
	}
	return t, nil
}

// Insert stores the events of batches, in order, and counts what it did.
// Every event must have an eventId already (the queue producer assigns
// them, so that a redelivered batch carries the same ids).
//
// The events go in multi-row INSERTs of at most rowsPerInsert rows, each
// ... ON CONFLICT (tracking_id, event_id) DO NOTHING. Without transactions
// an error can leave some statements applied; the caller then retries all
// of batches, and the unique index turns the rows already stored into
// duplicates. So a retry never stores an event twice: at-least-once
// delivery becomes exactly-once storage. (Duplicates counts them, so on a
// retry it over-counts what the client sent twice.)
func (db *DB) Insert(ctx context.Context, batches []*server.Batch) (server.PutResult, error) {
	var res server.PutResult
	args := make([]any, 0, rowsPerInsert*sqlstore.ColumnsPerEvent)
	rows := 0
	flush := func() error {
		if rows == 0 {
			return nil
		}
		r, err := db.db.ExecContext(ctx, sqlstore.InsertEventsSQL(rows), args...)
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		res.Accepted += int(n)
		res.Duplicates += rows - int(n)
		args, rows = args[:0], 0
		return nil
	}
	for _, b := range batches {
		for i := range b.Request.EventList {
			var err error
			if args, err = sqlstore.AppendEventArgs(args, b, &b.Request.EventList[i]); err != nil {
				return res, err
			}
			if rows++; rows == rowsPerInsert {
				if err := flush(); err != nil {
					return res, err
				}
			}
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
