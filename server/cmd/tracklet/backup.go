package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tracklet/tracklet/server/sqlite"
)

// backupCmd writes a consistent copy of the database while the collector
// runs (see sqlite.DB.Backup).
func backupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dbPath := newFlags("backup", stderr)
	out := fs.String("o", "", "write the copy to this `file` (replaced whole if it exists)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("backup: give the copy's file with -o, e.g. -o backups/tracklet-$(date +%F).db")
	}
	// A missing database is a typo, not something to back up empty.
	if _, err := os.Stat(*dbPath); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return withDB(ctx, *dbPath, func(db *sqlite.DB) error {
		res, err := db.Backup(ctx, *out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Backed up %d events (%d bytes) to %s\n", res.Events, res.Bytes, *out)
		return nil
	})
}
