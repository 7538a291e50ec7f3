package sqlite

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// Durability without waiting for the disk in the writer.
//
// The writer's connection commits with synchronous=NORMAL: in WAL mode a
// COMMIT then writes the transaction's frames to the WAL file but does not
// fsync it. The syncer goroutine fsyncs the WAL and only then answers the
// requests of the groups committed before that fsync began. So a reply
// still means "on disk", as with synchronous=FULL, but while one group
// waits for the disk the writer already runs the next group's inserts:
// the single writer, the collector's bottleneck, no longer idles through
// every fsync.
//
// Why an fsync of the WAL file is enough: every frame of a committed group
// is in the file (or, if a checkpoint has since restarted the WAL, already
// copied into the database file, which the checkpoint synced before
// letting the WAL be reused), and an fsync covers everything written to
// the file before it began. Readers may see a group a few milliseconds
// before it is durable; nobody is told it is stored before it is.

// maxPendingSyncs bounds how many committed groups may wait for their
// fsync: past it the writer waits too, so a slow disk slows the intake
// instead of growing a queue.
const maxPendingSyncs = 16

// pendingSync is a committed group waiting for its fsync.
type pendingSync struct {
	group    []*writeReq
	results  []writeResult
	start    time.Time // when its transaction began, for the observer
	requests int
	events   int
}

// syncer answers committed groups once their WAL frames are durable, until
// db.toSync closes.
func (db *DB) syncer() {
	defer close(db.syncerDone)
	var batch []*pendingSync
	for p := range db.toSync {
		// One fsync for every group committed meanwhile.
		batch = append(batch[:0], p)
	gather:
		for {
			select {
			case p, ok := <-db.toSync:
				if !ok {
					break gather
				}
				batch = append(batch, p)
			default:
				break gather
			}
		}
		err := db.wal.sync()
		if err != nil {
			db.log.Error("sync WAL", "err", err)
		}
		for _, p := range batch {
			db.answer(p, err)
		}
	}
}

// answer tells p's requests how their writes went, err being the outcome
// of the commit or of its fsync.
func (db *DB) answer(p *pendingSync, err error) {
	if db.observer != nil {
		db.observer.Committed(p.requests, p.events, time.Since(p.start), err)
	}
	for i, req := range p.group {
		if req.done == nil {
			continue
		}
		res := p.results[i]
		if err != nil && res.err == nil {
			res = writeResult{err: err}
		}
		req.done <- res
	}
}

// walFile is the database's WAL file, opened only to fsync it.
type walFile struct {
	path string
	mu   sync.Mutex // guards f and info: the syncer and admin writes sync
	f    *os.File
	info os.FileInfo
}

// sync fsyncs the WAL file. SQLite keeps the file while any connection is
// open, but if it was ever removed and created anew (the database closed
// by every connection, say) the handle would sync a file no longer in
// use: so the name is checked against the handle each time.
func (w *walFile) sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	info, err := os.Stat(w.path)
	if err != nil {
		return fmt.Errorf("sync WAL: %w", err)
	}
	if w.f == nil || !os.SameFile(info, w.info) {
		if w.f != nil {
			w.f.Close()
		}
		// Read-only is enough to fsync, and cannot harm the file.
		if w.f, err = os.Open(w.path); err != nil {
			w.f = nil
			return fmt.Errorf("sync WAL: %w", err)
		}
		w.info = info
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync WAL: %w", err)
	}
	return nil
}

func (w *walFile) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// durable makes a write made on db.write outside the writer (trackers,
// deletes) durable before its caller hears of it, as the writer's syncer
// does for events.
func (db *DB) durable(err error) error {
	if err != nil || db.wal == nil {
		return err
	}
	return db.wal.sync()
}
