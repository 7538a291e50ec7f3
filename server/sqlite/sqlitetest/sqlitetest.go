// Package sqlitetest opens a Tracklet database file from a test the way a
// user's tools do: read-only, with plain database/sql, beside or after the
// collector, so that a test reads what is on disk and not what a store
// says it wrote.
package sqlitetest

import (
	"database/sql"
	"net/url"
	"testing"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// OpenReadOnly opens the SQLite file at path read-only; it is closed when
// the test ends. The path is escaped for SQLite's file: URI, so a '#' or
// '?' in a temporary directory's name does not cut it short.
func OpenReadOnly(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// OpenChecked is OpenReadOnly followed by SQLite's integrity_check, which
// must answer "ok": for a file made by a backup, a copy or a crash.
func OpenChecked(t testing.TB, path string) *sql.DB {
	t.Helper()
	db := OpenReadOnly(t, path)
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of %s: %q, %v", path, check, err)
	}
	return db
}
