package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sqlite"
	"github.com/tracklet/tracklet/server/token"
)

func tracker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("tracker: want a subcommand: create, list, disable, enable, sigv4 or relay")
	}
	sub, args := args[0], args[1:]
	fs, dbPath := newFlags("tracker", stderr)
	switch sub {
	case "create":
		name := fs.String("name", "", "the tracker's `name` (required), e.g. the site's")
		var origins listFlag
		fs.Var(&origins, "origin", "a web origin allowed to send events, e.g. https://shop.example (repeatable; none allows any)")
		rf := addRelayFlags(fs)
		if err := parse(fs, args); err != nil {
			return err
		}
		if strings.TrimSpace(*name) == "" {
			return errors.New("tracker create: --name is required")
		}
		if _, err := rf.link("check"); err != nil {
			return fmt.Errorf("tracker create: %w", err)
		}
		return withDB(ctx, *dbPath, func(db *sqlite.DB) error {
			t, err := db.CreateTracker(ctx, *name, origins)
			if err != nil {
				return err
			}
			if link, _ := rf.link(t.ID); link != nil {
				if err := db.SetRelay(ctx, link); err != nil {
					return err
				}
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
			fmt.Fprintln(tw, "TRACKING ID\tNAME\tSTATUS\tCREATED\tSIGV4\tORIGINS")
			for _, t := range ts {
				status, origins, sigv4 := "enabled", strings.Join(t.Origins, " "), "-"
				if t.Disabled {
					status = "disabled"
				}
				if origins == "" {
					origins = "(any)"
				}
				if t.SigV4 != nil {
					sigv4 = t.SigV4.ID
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, status, t.CreatedAt.UTC().Format(time.RFC3339), sigv4, origins)
			}
			return tw.Flush()
		})
	case "disable", "enable":
		id, err := parseWithID(fs, sub, args)
		if err != nil {
			return err
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
	case "sigv4":
		return trackerSigV4(ctx, fs, dbPath, args, stdout)
	case "relay":
		return trackerRelay(ctx, fs, dbPath, args, stdout)
	}
	return fmt.Errorf("tracker: unknown subcommand %q: want create, list, disable, enable, sigv4 or relay", sub)
}

// parseWithID parses a subcommand's flags around its one argument, the
// trackingId, which may come before or after the flags.
func parseWithID(fs *flag.FlagSet, sub string, args []string) (string, error) {
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	} else if n := len(args); n > 0 && !strings.HasPrefix(args[n-1], "-") {
		// The last argument is the id unless it is a flag's value.
		if f := fs.Lookup(strings.TrimLeft(args[max(n-2, 0)], "-")); n < 2 || f == nil || isBoolFlag(f) {
			id, args = args[n-1], args[:n-1]
		}
	}
	if err := parse(fs, args); err != nil {
		return "", err
	}
	if id == "" {
		return "", fmt.Errorf("tracker %s: want the trackingId", sub)
	}
	return id, nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// trackerSigV4 makes a tracker require AWS SigV4 on /events with the
// access key given, or one it generates and prints (once: only the
// database keeps it), or with --off no longer require it.
func trackerSigV4(ctx context.Context, fs *flag.FlagSet, dbPath *string, args []string, stdout io.Writer) error {
	keyID := fs.String("access-key-id", "", "the access key `id` senders sign with (default: a new one)")
	secret := fs.String("secret-access-key", "", "its `secret` (default: a new one; give both or neither)")
	off := fs.Bool("off", false, "stop requiring SigV4: unsigned requests (browsers) are taken again")
	id, err := parseWithID(fs, "sigv4", args)
	if err != nil {
		return err
	}
	var key *server.AccessKey
	switch {
	case *off && (*keyID != "" || *secret != ""):
		return errors.New("tracker sigv4: --off takes no keys")
	case *off:
	case (*keyID == "") != (*secret == ""):
		return errors.New("tracker sigv4: give both --access-key-id and --secret-access-key, or neither to generate them")
	case *keyID == "":
		key = token.NewAccessKey()
	default:
		if key, err = server.NewAccessKey(*keyID, *secret); err != nil {
			return fmt.Errorf("tracker sigv4: %w", err)
		}
	}
	return withDB(ctx, *dbPath, func(db *sqlite.DB) error {
		err := db.SetTrackerSigV4(ctx, id, key)
		if errors.Is(err, server.ErrTrackerNotFound) {
			return fmt.Errorf("tracker sigv4: no tracker %q", id)
		}
		if err != nil {
			return err
		}
		if key == nil {
			fmt.Fprintf(stdout, "%s no longer requires SigV4\n", id)
			return nil
		}
		// In the form of environment variables, which the AWS SDKs and
		// CLIs read: eval "$(tracklet tracker sigv4 ID)".
		fmt.Fprintf(stdout, "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n", key.ID, key.Secret)
		return nil
	})
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
