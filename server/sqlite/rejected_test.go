package sqlite

import (
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server"
)

// bloated is a rejection whose every value is a megabyte: what a client
// can send in a trackingId (the body) or an Origin (the headers).
func bloated(i int) *server.Rejection {
	mb := strings.Repeat("x", 1<<20)
	return &server.Rejection{ReceivedAt: time.Now(), TrackingID: mb, Status: 400,
		Reason: fmt.Sprint("bad ", i, " ", mb), Origin: mb, Body: mb}
}

// rejectedText sums what the rejected table's text takes, read straight
// from the file.
func rejectedText(t *testing.T, db *DB) (rows int, bytes int64, widest map[string]int) {
	t.Helper()
	widest = map[string]int{}
	err := db.read.QueryRowContext(t.Context(), `SELECT count(*), coalesce(sum(
		coalesce(length(CAST(tracking_id AS BLOB)), 0) + length(CAST(reason AS BLOB)) +
		coalesce(length(CAST(origin AS BLOB)), 0) + length(CAST(body AS BLOB))), 0) FROM rejected`).Scan(&rows, &bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"tracking_id", "reason", "origin", "body"} {
		var n int
		if err := db.read.QueryRowContext(t.Context(),
			`SELECT coalesce(max(length(CAST(`+col+` AS BLOB))), 0) FROM rejected`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		widest[col] = n
	}
	return rows, bytes, widest
}

// TestRejectedTableByteBound floods the log with rejections whose values
// are a megabyte each: every value is stored cut to its bound, and the
// table is trimmed to the newest MaxRejectedBytes at the first insert and
// every trimEvery-th, whatever its row bound.
func TestRejectedTableByteBound(t *testing.T) {
	const keepRows = 1000
	keepBytes := int64(10 * server.MaxRejectedRowBytes)
	db, tid, _ := setup(t, Options{MaxRejected: keepRows, MaxRejectedBytes: keepBytes})
	inserted := 0
	record := func(n int) {
		t.Helper()
		for range n {
			inserted++
			db.RecordRejected(bloated(inserted))
		}
		// Committed after the rejections queued before it.
		if _, err := db.PutEvents(t.Context(), batch(tid, fmt.Sprint("sync", inserted), "View", 1)); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct{ add, wantRows int }{
		{1, 1},
		{trimEvery - 2, trimEvery - 1}, // between trims the table grows...
		{1, 10},                        // ...the trim keeps the newest keepBytes: 10 full rows
		{trimEvery - 1, 10 + trimEvery - 1},
		{1, 10},
	} {
		record(step.add)
		rows, bytes, widest := rejectedText(t, db)
		if rows != step.wantRows {
			t.Fatalf("after %d rejections: %d rows, want %d", inserted, rows, step.wantRows)
		}
		if bytes != int64(rows*server.MaxRejectedRowBytes) {
			t.Errorf("after %d rejections: %d rows hold %d bytes of text, want %d each", inserted, rows, bytes, server.MaxRejectedRowBytes)
		}
		want := map[string]int{"tracking_id": server.MaxRejectedTrackingID, "reason": server.MaxRejectedReason,
			"origin": server.MaxRejectedOrigin, "body": server.MaxRejectedBody}
		for col, n := range widest {
			if n != want[col] {
				t.Errorf("widest %s: %d bytes, want %d (the bound)", col, n, want[col])
			}
		}
	}
	rej, err := db.Rejected(t.Context(), "", 1)
	if err != nil || len(rej) != 1 || !strings.HasPrefix(rej[0].Reason, fmt.Sprint("bad ", inserted, " ")) {
		t.Errorf("newest rejection: %v, %v; want bad %d", rej, err, inserted)
	}
}

// A database an older collector filled with uncut rejections is brought
// under the byte bound by the first trim after the upgrade.
func TestMigrationBoundsRejectedLeftByOlderCollector(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrationFiles, "migrations/*.sql")
	version := 0
	for _, name := range names {
		if name >= "migrations/0004" {
			break
		}
		b, _ := migrationFiles.ReadFile(name)
		if _, err := old.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		version++
	}
	mb := strings.Repeat("x", 1<<20)
	for i := range 3 {
		if _, err := old.Exec(`INSERT INTO rejected (received_at_ms, tracking_id, status, reason, origin, body)
			VALUES (?, ?, 400, ?, ?, ?)`, i, mb, "old", mb, "b"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := old.Exec(fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db, tid, _ := func() (*DB, string, string) {
		db := openFile(t, path, Options{MaxRejectedBytes: 4 * server.MaxRejectedRowBytes})
		tr, err := db.CreateTracker(t.Context(), "site", nil)
		if err != nil {
			t.Fatal(err)
		}
		return db, tr.ID, path
	}()
	db.RecordRejected(&server.Rejection{ReceivedAt: time.Now(), Status: 404, Reason: "new", Body: "{}"})
	if _, err := db.PutEvents(t.Context(), batch(tid, "sync", "View", 1)); err != nil {
		t.Fatal(err)
	}
	rej, err := db.Rejected(t.Context(), "", 10)
	if err != nil || len(rej) != 1 || rej[0].Reason != "new" {
		t.Fatalf("after the upgrade and one rejection: %d rows (%v); want only the new one", len(rej), err)
	}
}
