package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sqlstore"
)

const (
	// maxRowsPerInsert is how many events one INSERT statement carries: a
	// whole PutEvents request, so that a request is one statement and
	// therefore all-or-nothing without a savepoint.
	maxRowsPerInsert = event.MaxEvents
	// maxGroup bounds how many queued writes share one transaction, so
	// that one commit's latency stays bounded under any load.
	maxGroup = 512
)

// writeReq is one unit of work for the writer goroutine.
type writeReq struct {
	ctx context.Context
	// Either an insert of n events with their arguments...
	n    int
	args []any
	// ...or a rejected request to log, a readiness check (see Ping) or a
	// batch of old events to delete (see Retire).
	rejected *server.Rejection
	ping     bool
	retire   *retireReq
	done     chan writeResult // nil: nobody waits (rejections)
}

type writeResult struct {
	accepted int
	err      error
}

// PutEvents stores b's events in one statement of the next group commit and
// returns once that commit is durable. Every event must have an eventId
// (see server.AssignEventIDs); one whose (trackingId, eventId) is stored
// already, or appears earlier in b, is dropped and counted as a duplicate.
func (db *DB) PutEvents(ctx context.Context, b *server.Batch) (server.PutResult, error) {
	n := len(b.Request.EventList)
	if n == 0 || n > maxRowsPerInsert {
		return server.PutResult{}, fmt.Errorf("put events: %d events in one batch, want 1 to %d", n, maxRowsPerInsert)
	}
	args, err := eventArgs(b)
	if err != nil {
		return server.PutResult{}, err
	}
	req := &writeReq{ctx: ctx, n: n, args: args, done: make(chan writeResult, 1)}
	if err := db.enqueue(ctx, req); err != nil {
		return server.PutResult{}, err
	}
	select {
	case res := <-req.done:
		if res.err != nil {
			return server.PutResult{}, fmt.Errorf("put events: %w", res.err)
		}
		return server.PutResult{Accepted: res.accepted, Duplicates: n - res.accepted}, nil
	case <-ctx.Done():
		// The write may still commit; the client, not having had an
		// answer, retries, and the retry's events are duplicates.
		return server.PutResult{}, ctx.Err()
	}
}

// QueueDepth is how many writes wait for the writer, for metrics.
func (db *DB) QueueDepth() int { return len(db.writes) }

func (db *DB) enqueue(ctx context.Context, req *writeReq) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return server.ErrClosed
	}
	select {
	case db.writes <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// eventArgs flattens b into the arguments of
// sqlstore.InsertRequestSQL(len(events)): one statement per request, so
// that a request is all-or-nothing without a savepoint. It runs on the
// caller's goroutine so that the writer does as little as possible.
func eventArgs(b *server.Batch) ([]any, error) {
	r := b.Request
	args := make([]any, 0, sqlstore.ColumnsPerRequest+len(r.EventList)*sqlstore.OwnColumnsPerEvent)
	args = sqlstore.AppendRequestArgs(args, b)
	for i := range r.EventList {
		var err error
		if args, err = sqlstore.AppendEventArgs(args, b, &r.EventList[i]); err != nil {
			return nil, err
		}
	}
	return args, nil
}

// testHookGroup, if set before Open, hears the size of each group the
// writer is about to commit: tests wait for it instead of sleeping.
var testHookGroup func(requests int)

// writer is the only goroutine that writes events. It takes every write
// waiting in the queue (up to maxGroup) into one transaction: while one
// commit waits for the disk, the next group gathers.
func (db *DB) writer() {
	defer close(db.writerDone)
	group := make([]*writeReq, 0, maxGroup)
	for {
		var req *writeReq
		select {
		case r, ok := <-db.writes:
			if !ok {
				return
			}
			req = r
		case resume := <-db.pause: // nil, and never ready, without a checkpointer
			<-resume
			continue
		}
		group = append(group[:0], req)
	gather:
		for len(group) < maxGroup {
			select {
			case r, ok := <-db.writes:
				if !ok {
					break gather
				}
				group = append(group, r)
			default:
				break gather
			}
		}
		if testHookGroup != nil {
			testHookGroup(len(group))
		}
		db.commit(group)
	}
}

func (db *DB) commit(group []*writeReq) {
	start := time.Now()
	results := make([]writeResult, len(group))
	requests, events := 0, 0
	err := db.goneErr()
	if err == nil {
		err = db.commitGroup(group, results, &requests, &events)
	}
	if db.observer != nil {
		db.observer.Committed(requests, events, time.Since(start), err)
	}
	if err == nil {
		db.signalCommitted()
	}
	if !errors.Is(err, errFileGone) { // markGone has said it, louder
		db.noteCommit(err)
	}
	for i, req := range group {
		if req.done == nil {
			continue
		}
		if err != nil && results[i].err == nil {
			results[i] = writeResult{err: err}
		}
		req.done <- results[i]
	}
}

// commitGroup runs group's writes in one transaction, filling in results,
// and returns the transaction's outcome: nil only once it is durable in the
// file the database was opened on. An error that says the database cannot
// write now (see unavailable) fails the whole group.
func (db *DB) commitGroup(group []*writeReq, results []writeResult, requests, events *int) error {
	// Not a request's context: one client going away must not undo the
	// others' writes.
	ctx := context.Background()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	for i, req := range group {
		if req.ctx != nil && req.ctx.Err() != nil {
			results[i].err = req.ctx.Err() // nobody waits for it any more
			continue
		}
		var n int64
		switch {
		case req.rejected != nil:
			if err := unavailable(db.rejected.insert(ctx, tx, req.rejected)); err != nil {
				if errors.Is(err, server.ErrUnavailable) {
					return err // as for events, below
				}
				db.log.Warn("log rejected request", "err", err)
			}
			continue
		case req.ping:
			_, err = tx.ExecContext(ctx, "UPDATE readiness SET checked_at_ms = ?, reserve = zeroblob(?) WHERE id = 1",
				db.now().UnixMilli(), pingReserve)
		case req.retire != nil:
			n, err = db.retireBatch(ctx, tx, req.retire)
		default:
			var res sql.Result
			if res, err = tx.Stmt(db.insert[req.n]).ExecContext(ctx, req.args...); err == nil {
				n, err = res.RowsAffected()
			}
		}
		if err != nil {
			if err = unavailable(err); errors.Is(err, server.ErrUnavailable) {
				// SQLite may have rolled the whole transaction back
				// already; what follows would run outside it.
				return err
			}
			results[i].err = err
			continue
		}
		results[i].accepted = int(n)
		if req.n > 0 {
			*requests++
			*events += int(n)
		}
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	// Before anyone hears of this commit: did it go to the file that the
	// path names, which a restart will open?
	if err := db.identity.check(db.path); err != nil {
		db.markGone(err)
		return err
	}
	return nil
}

// pageSize is how many events Events reads per query. Reading in pages keeps
// no read transaction open while the caller works, so a slow export neither
// holds the WAL from checkpointing nor (in memory) blocks the writer.
const pageSize = 1000

// Events yields the events f selects in arrival (Seq) order, reading them a
// page at a time: memory stays constant however many there are.
func (db *DB) Events(ctx context.Context, f server.EventFilter) iter.Seq2[*server.StoredEvent, error] {
	return sqlstore.Events(ctx, db.read, f, pageSize)
}

// DeleteEvents deletes the events of trackingID (every event if it is
// empty) and returns how many there were. It is for resetting test
// databases (`serve --memory`), not for production data management.
func (db *DB) DeleteEvents(ctx context.Context, trackingID string) (int64, error) {
	return sqlstore.DeleteEvents(ctx, db.write, trackingID)
}
