package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/export"
	"github.com/tracklet/tracklet/server/sqlite"
)

func exportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dbPath := newFlags("export", stderr)
	trackingID := fs.String("tracking-id", "", "export this tracker's events (default: every tracker's)")
	format := fs.String("format", "ndjson", "output `format`: ndjson (PutEvents wire form, one event a line) or csv (Personalize Interactions)")
	since := fs.String("since", "", "only events sent at or after this `time` (RFC 3339, or epoch seconds/ms)")
	until := fs.String("until", "", "only events sent before this `time` (RFC 3339, or epoch seconds/ms)")
	out := fs.String("o", "-", "write to this `file` instead of standard output")
	progress := fs.Bool("progress", isTerminal(os.Stderr), "show progress on standard error (default: when it is a terminal)")
	if err := parse(fs, args); err != nil {
		return err
	}
	var (
		filter = server.EventFilter{TrackingID: *trackingID}
		err    error
	)
	if filter.Since, err = parseTime("--since", *since); err != nil {
		return err
	}
	if filter.Until, err = parseTime("--until", *until); err != nil {
		return err
	}
	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	return withDB(ctx, *dbPath, func(db *sqlite.DB) error {
		if *trackingID != "" {
			if _, err := db.Tracker(ctx, *trackingID); err != nil {
				return fmt.Errorf("export: trackingId %q: %w", *trackingID, err)
			}
		}
		var report export.Progress
		start := time.Now()
		if *progress {
			var next time.Time
			report = func(n int64) {
				if now := time.Now(); now.After(next) {
					next = now.Add(250 * time.Millisecond)
					fmt.Fprintf(stderr, "\rexported %d events (%.0f/s)", n, float64(n)/max(now.Sub(start).Seconds(), 1e-3))
				}
			}
		}
		n, err := export.Write(ctx, w, db, filter, *format, report)
		if *progress {
			fmt.Fprintf(stderr, "\rexported %d events in %s\n", n, time.Since(start).Round(time.Millisecond))
		}
		if err != nil {
			return err
		}
		if f, ok := w.(*os.File); ok && f != os.Stdout {
			return f.Close()
		}
		return nil
	})
}

// parseTime reads --since/--until the way sentAt is read: RFC 3339, or a
// number of epoch seconds (milliseconds from 1e11 on).
func parseTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	raw := s
	if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
		raw = `"` + s + `"`
	}
	ts, err := event.ParseTimestamp([]byte(raw))
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: %w", flag, s, err)
	}
	return ts.Time(), nil
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
