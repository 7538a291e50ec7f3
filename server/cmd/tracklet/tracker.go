package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sqlite"
)

func tracker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("tracker: want a subcommand: create, list, disable or enable")
	}
	sub, args := args[0], args[1:]
	fs, dbPath := newFlags("tracker", stderr)
	switch sub {
	case "create":
		name := fs.String("name", "", "the tracker's `name` (required), e.g. the site's")
		var origins listFlag
		fs.Var(&origins, "origin", "a web origin allowed to send events, e.g. https://shop.example (repeatable; none allows any)")
		if err := parse(fs, args); err != nil {
			return err
		}
		if strings.TrimSpace(*name) == "" {
			return errors.New("tracker create: --name is required")
		}
		return withDB(ctx, *dbPath, func(db *sqlite.DB) error {
			t, err := db.CreateTracker(ctx, *name, origins)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, t.ID) // only the id, for scripts
			return nil
		})
	case "list":
		if err := parse(fs, args); err != nil {
			return err
		}
		return withDB(ctx, *dbPath, func(db *sqlite.DB) error {
			ts, err := db.Trackers(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TRACKING ID\tNAME\tSTATUS\tCREATED\tORIGINS")
			for _, t := range ts {
				status, origins := "enabled", strings.Join(t.Origins, " ")
				if t.Disabled {
					status = "disabled"
				}
				if origins == "" {
					origins = "(any)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, status, t.CreatedAt.UTC().Format(time.RFC3339), origins)
			}
			return tw.Flush()
		})
	case "disable", "enable":
		// The id may come before or after the flags.
		var id string
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			id, args = args[0], args[1:]
		} else if n := len(args); n > 0 && !strings.HasPrefix(args[n-1], "-") && (n < 2 || args[n-2] != "--db") {
			id, args = args[n-1], args[:n-1]
		}
		if err := parse(fs, args); err != nil {
			return err
		}
		if id == "" {
			return fmt.Errorf("tracker %s: want the trackingId", sub)
		}
		return withDB(ctx, *dbPath, func(db *sqlite.DB) error {
			err := db.SetTrackerDisabled(ctx, id, sub == "disable")
			if errors.Is(err, server.ErrTrackerNotFound) {
				return fmt.Errorf("tracker %s: no tracker %q", sub, id)
			}
			if err == nil {
				fmt.Fprintf(stdout, "%s %sd\n", id, sub)
			}
			return err
		})
	}
	return fmt.Errorf("tracker: unknown subcommand %q: want create, list, disable or enable", sub)
}

// withDB opens the database for one command and closes it after.
func withDB(ctx context.Context, path string, f func(*sqlite.DB) error) error {
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return err
	}
	ferr := f(db)
	return errors.Join(ferr, db.Close())
}
