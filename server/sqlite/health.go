package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tracklet/tracklet/server"
)

// A store that cannot write must say so rather than answer 500 or, worse,
// 200: the disk may be full (it will be freed), fail with I/O errors, or
// the database file may have been deleted or replaced under us. This file
// holds what tells those cases apart and what the collector does about
// them:
//
//   - unavailable wraps SQLite's "cannot write now" errors in
//     server.ErrUnavailable, which the HTTP API answers 503 + Retry-After.
//   - Ping commits real pages (the readiness row and pingReserve bytes)
//     through the writer, so /readyz fails while commits fail, and passes
//     again by itself once they work: nothing needs restarting when space
//     returns.
//   - fileIdentity checks, after every group commit and before any reply,
//     that the path still names the files SQLite has open. A deleted or
//     replaced database is noticed by the first commit after it, which is
//     then not acknowledged, and every later write is refused.

// errFileGone is the sticky error of a database whose file was deleted or
// replaced while open.
var errFileGone = errors.New("the database file was deleted or replaced while the collector ran; " +
	"writes are refused (they would go to a file nobody will open again); restore it or restart the collector")

// unavailable returns err wrapped in server.ErrUnavailable when it is one
// of SQLite's errors that say the write could not happen now but may
// later, and err unchanged otherwise.
func unavailable(err error) error {
	var se *sqlitedrv.Error
	if err == nil || errors.Is(err, server.ErrUnavailable) || !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff { // the primary result code
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_BUSY,
		sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL:
		return fmt.Errorf("%w: %w", server.ErrUnavailable, err)
	}
	return err
}

// fileIdentity is what the database path named when it was opened: the
// database file and its WAL. os.SameFile compares device and inode.
type fileIdentity struct {
	db, wal os.FileInfo // wal is nil if there was none
}

func statIdentity(path string) (fileIdentity, error) {
	db, err := os.Stat(path)
	if err != nil {
		return fileIdentity{}, err
	}
	id := fileIdentity{db: db}
	if wal, err := os.Stat(path + "-wal"); err == nil {
		id.wal = wal
	}
	return id, nil
}

// check returns errFileGone (wrapped in server.ErrUnavailable) unless path
// still names the same files. Two stat calls: a few microseconds, against
// the fsync every group commit waits for.
func (id fileIdentity) check(path string) error {
	if id.db == nil {
		return nil // in memory
	}
	for _, f := range []struct {
		name string
		was  os.FileInfo
	}{{path, id.db}, {path + "-wal", id.wal}} {
		if f.was == nil {
			continue
		}
		now, err := os.Stat(f.name)
		if err != nil {
			return fmt.Errorf("%w: %w: %s: %w", server.ErrUnavailable, errFileGone, f.name, err)
		}
		if !os.SameFile(now, f.was) {
			return fmt.Errorf("%w: %w: %s is another file now", server.ErrUnavailable, errFileGone, f.name)
		}
	}
	return nil
}

// health remembers whether commits fail, so that the log says so once
// when they start failing and once when they work again, not once per
// request, and whether the file is gone for good.
type health struct {
	gone    atomic.Pointer[error] // set once, never cleared
	failing int                   // failed commits in a row; writer goroutine only
}

// noteCommit logs the transitions between working and failing commits.
func (db *DB) noteCommit(err error) {
	h := &db.health
	switch {
	case err == nil && h.failing > 0:
		db.log.Info("database writes work again", "db", db.path, "failed_commits", h.failing)
		h.failing = 0
	case err != nil && h.failing == 0:
		h.failing = 1
		db.log.Error("database writes fail; PutEvents answers 503 and /readyz fails until they work again",
			"db", db.path, "err", err)
	case err != nil:
		h.failing++
	}
}

// markGone makes every later write fail with err, loudly.
func (db *DB) markGone(err error) {
	if db.health.gone.CompareAndSwap(nil, &err) {
		db.log.Error("DATABASE FILE DELETED OR REPLACED: refusing every write from now on; "+
			"events acknowledged until now are in the old file only", "db", db.path, "err", err)
	}
}

// goneErr returns the sticky error of a deleted or replaced file, or nil.
func (db *DB) goneErr() error {
	if p := db.health.gone.Load(); p != nil {
		return *p
	}
	return nil
}

// pingReserve is how many bytes Ping rewrites: about what ten events at
// generous sizes, with their index entries, add to the WAL. A disk with
// room for a one-page commit but not for a request of events must not
// look ready: issue 12's full tmpfs had exactly that.
const pingReserve = 64 << 10

// Ping reports whether the database takes writes: it commits an update of
// the readiness row, pingReserve bytes of it, through the writer, in the
// next group commit, so it fails when storing events would (a full disk,
// I/O errors, a deleted or replaced file, a writer stuck past ctx's
// deadline).
func (db *DB) Ping(ctx context.Context) error {
	if err := db.goneErr(); err != nil {
		return err
	}
	req := &writeReq{ctx: ctx, ping: true, done: make(chan writeResult, 1)}
	if err := db.enqueue(ctx, req); err != nil {
		return fmt.Errorf("database not writable: %w", err)
	}
	select {
	case res := <-req.done:
		if res.err != nil {
			return fmt.Errorf("database not writable: %w", res.err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("database not writable: no commit within the deadline: %w", ctx.Err())
	}
}
