package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracklet/tracklet/server/sqlite/sqlitetest"
)

// TestBackupWhileIngesting copies the database while two goroutines keep
// storing events: the copy opens on its own (no WAL beside it), passes
// integrity_check, and holds every event acknowledged before the backup
// began; a second backup replaces the first whole.
func TestBackupWhileIngesting(t *testing.T) {
	c := &clock{t: testEpoch}
	db, tid, path := setup(t, Options{Now: c.now})
	for i := range 100 {
		if _, err := db.PutEvents(t.Context(), batch(tid, fmt.Sprint("pre-", i), "Pre", 10)); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	a1, a2 := ingest(t, db, tid, "g1", c, stop), ingest(t, db, tid, "g2", c, stop)
	dst := filepath.Join(t.TempDir(), "copy.db")
	for range 2 {
		res, err := db.Backup(t.Context(), dst)
		if err != nil {
			t.Fatal(err)
		}
		if res.Events < 1000 || res.Bytes == 0 {
			t.Errorf("backup reports %d events in %d bytes; want at least the 1000 stored before it", res.Events, res.Bytes)
		}
		checkCopy(t, dst, res.Events)
	}
	close(stop)
	<-a1
	<-a2
	if _, err := db.Backup(t.Context(), path); err == nil {
		t.Error("a backup onto the database itself succeeded")
	}
}

// checkCopy opens a backup the way a user would and checks it.
func checkCopy(t *testing.T, file string, events int64) {
	t.Helper()
	if _, err := os.Stat(file + "-wal"); err == nil {
		t.Errorf("%s has a WAL beside it; a backup should be one file", file)
	}
	cp := sqlitetest.OpenChecked(t, file)
	var pre, all int64
	if err := cp.QueryRow("SELECT count(*) FILTER (WHERE event_type = 'Pre'), count(*) FROM events").Scan(&pre, &all); err != nil {
		t.Fatal(err)
	}
	if pre != 1000 || all != events {
		t.Errorf("the copy holds %d of the 1000 events stored before the backup and %d in all (Backup said %d)", pre, all, events)
	}
	var mode string
	if err := cp.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "delete" {
		t.Errorf("the copy's journal mode: %q, %v; want delete", mode, err)
	}
}
