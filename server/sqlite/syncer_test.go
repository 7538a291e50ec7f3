package sqlite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracklet/tracklet/server"
)

// TestNoReplyBeforeTheWALIsSynced makes the WAL's fsync fail: the writes it
// should have made durable are reported failed, not stored, even though
// their transaction committed; the next writes, synced again, succeed.
func TestNoReplyBeforeTheWALIsSynced(t *testing.T) {
	db, tid, path := setup(t, Options{})
	ctx := t.Context()

	db.wal.mu.Lock()
	db.wal.path = path + "-missing" // the next sync cannot find the WAL
	db.wal.mu.Unlock()
	_, err := db.PutEvents(ctx, batch(tid, "a", "Click", 3))
	if err == nil || !strings.Contains(err.Error(), "sync WAL") {
		t.Fatalf("PutEvents with a failing fsync: err = %v, want a sync WAL error", err)
	}

	db.wal.mu.Lock()
	db.wal.path = path + "-wal"
	db.wal.mu.Unlock()
	res, err := db.PutEvents(ctx, batch(tid, "b", "Click", 4))
	if err != nil || res.Accepted != 4 {
		t.Fatalf("PutEvents once the WAL syncs again: %+v, %v", res, err)
	}
	if n := countStored(t, db, server.EventFilter{TrackingID: tid}); n != 7 {
		// The failed request's transaction did commit: a client that
		// retries it gets duplicates, which is why it may retry.
		t.Fatalf("%d events stored, want 7", n)
	}
}

// TestWALFileFollowsTheName syncs a WAL file that was removed and created
// anew: the handle must follow the name, not keep syncing the old file.
func TestWALFileFollowsTheName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db-wal")
	if err := os.WriteFile(path, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := &walFile{path: path}
	defer w.close()
	if err := w.sync(); err != nil {
		t.Fatal(err)
	}
	first := w.info
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := w.sync(); err == nil {
		t.Fatal("sync of a removed WAL succeeded")
	}
	if err := os.WriteFile(path, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.sync(); err != nil {
		t.Fatal(err)
	}
	now, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(w.info, now) || os.SameFile(w.info, first) {
		t.Fatal("the WAL handle still refers to the removed file")
	}
}
