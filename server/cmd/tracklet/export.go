package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/export"
	"github.com/tracklet/tracklet/server/sqlite"
)

func exportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dbPath := newFlags("export", stderr)
	trackingID := fs.String("tracking-id", "", "export this tracker's events (default: every tracker's)")
	format := fs.String("format", "ndjson", "output `format`: ndjson (PutEvents wire form, one event a line), csv (for spreadsheets) or personalize (an Amazon Personalize Interactions CSV and its Avro schema)")
	since := fs.String("since", "", "only events sent at or after this `time` (RFC 3339, or epoch seconds/ms)")
	until := fs.String("until", "", "only events sent before this `time` (RFC 3339, or epoch seconds/ms)")
	out := fs.String("o", "-", "write to this `file` instead of standard output")
	columns := fs.String("columns", "", "personalize: up to 5 properties keys to export as metadata columns, each with an optional type (`list`, e.g. genre,numberOfRatings:int)")
	schemaPath := fs.String("schema", "", "personalize: write the Avro schema to this `file` (default: beside -o, as NAME.schema.json)")
	eventTypes := fs.String("event-types", "", "personalize: export only these event types (`list`, comma-separated)")
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
	// Everything that can be refused is, before a file is created.
	var opts export.PersonalizeOptions
	if *format == "personalize" {
		if opts.Columns, err = export.ParseColumns(*columns); err != nil {
			return fmt.Errorf("--columns: %w", err)
		}
		if *eventTypes != "" {
			opts.EventTypes = strings.Split(*eventTypes, ",")
		}
		if *schemaPath == "" {
			if *out == "-" {
				return errors.New("--format personalize writes a CSV and its schema: give -o FILE.csv (the schema goes beside it) or --schema FILE")
			}
			*schemaPath = strings.TrimSuffix(*out, filepath.Ext(*out)) + ".schema.json"
		}
	} else if *columns != "" || *schemaPath != "" || *eventTypes != "" {
		return errors.New("--columns, --schema and --event-types are for --format personalize")
	}
	return withDB(ctx, *dbPath, func(db *sqlite.DB) error {
		if *trackingID != "" {
			if _, err := db.Tracker(ctx, *trackingID); err != nil {
				return fmt.Errorf("export: trackingId %q: %w", *trackingID, err)
			}
		}
		w := stdout
		var file *os.File
		if *out != "-" {
			f, err := os.Create(*out)
			if err != nil {
				return err
			}
			defer f.Close()
			w, file = f, f
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
		var (
			n   int64
			res *export.PersonalizeResult
		)
		if *format == "personalize" {
			opts.Progress = report
			res, err = exportPersonalize(ctx, w, db, filter, opts, *schemaPath)
			n = res.Rows
		} else {
			n, err = export.Write(ctx, w, db, filter, *format, report)
		}
		if *progress {
			fmt.Fprintf(stderr, "\rexported %d events in %s\n", n, time.Since(start).Round(time.Millisecond))
		}
		if err != nil {
			return err
		}
		if res != nil {
			res.Report(stderr)
		}
		if file != nil {
			return file.Close()
		}
		return nil
	})
}

// exportPersonalize writes the Interactions CSV to w and its schema to
// schemaPath, only once the CSV is complete: the schema depends on every
// value.
func exportPersonalize(ctx context.Context, w io.Writer, r server.EventReader, f server.EventFilter, opts export.PersonalizeOptions, schemaPath string) (*export.PersonalizeResult, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	res, err := export.WritePersonalize(ctx, bw, r.Events(ctx, f), opts)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = os.WriteFile(schemaPath, append(res.Schema, '\n'), 0o644)
	}
	return res, err
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
