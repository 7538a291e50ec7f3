package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// BackupResult describes a copy Backup made.
type BackupResult struct {
	Events int64 // events in the copy
	Bytes  int64 // the copy's size
}

// Backup writes a consistent copy of the database to dst while it is in
// use, by this process or a running collector: VACUUM INTO reads one
// snapshot in a read transaction, which in WAL mode neither waits for the
// writer nor holds it up, so the copy holds every event committed before
// it started. The copy is compact (VACUUM drops free pages), in rollback
// journal mode so that it is one self-contained file, checked with
// quick_check, synced, and only then renamed to dst: an interrupted backup
// never leaves a half-written dst, and an existing dst is replaced whole.
func (db *DB) Backup(ctx context.Context, dst string) (BackupResult, error) {
	if db.path != Memory {
		if a, err := os.Stat(db.path); err == nil {
			if b, err := os.Stat(dst); err == nil && os.SameFile(a, b) {
				return BackupResult{}, fmt.Errorf("backup: %s is the database itself; write the copy elsewhere", dst)
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-"+strconv.Itoa(os.Getpid()))
	os.Remove(tmp) // left by an earlier backup that was killed
	res, err := db.backupTo(ctx, tmp)
	if err != nil {
		os.Remove(tmp)
		return BackupResult{}, fmt.Errorf("backup to %s: %w", dst, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil { // make the rename durable
		d.Sync()
		d.Close()
	}
	return res, nil
}

func (db *DB) backupTo(ctx context.Context, tmp string) (BackupResult, error) {
	if _, err := db.read.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		return BackupResult{}, err
	}
	cp, err := sql.Open("sqlite", "file:"+escapePath(tmp)+"?_pragma=journal_mode(DELETE)")
	if err != nil {
		return BackupResult{}, err
	}
	var res BackupResult
	var check string
	err = cp.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check)
	if err == nil && check != "ok" {
		err = errors.New("the copy fails quick_check: " + check)
	}
	if err == nil {
		err = cp.QueryRowContext(ctx, "SELECT count(*) FROM events").Scan(&res.Events)
	}
	if cerr := cp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return BackupResult{}, err
	}
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return BackupResult{}, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return BackupResult{}, err
	}
	st, err := f.Stat()
	if err != nil {
		return BackupResult{}, err
	}
	res.Bytes = st.Size()
	return res, nil
}
