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
	"github.com/tracklet/tracklet/server/relay"
	"github.com/tracklet/tracklet/server/sqlite"
)

// relayFlags are the flags that link a tracker to Personalize, on
// `tracker relay` and `tracker create`.
type relayFlags struct {
	personalizeID, region, endpoint *string
}

func addRelayFlags(fs *flag.FlagSet) relayFlags {
	return relayFlags{
		personalizeID: fs.String("personalize-tracking-id", "", "relay events to the Amazon Personalize event tracker with this `trackingId`"),
		region:        fs.String("region", "", "the Personalize event tracker's AWS `region`, e.g. eu-west-1"),
		endpoint:      fs.String("endpoint", "", "send PutEvents to this `URL` instead of Personalize's own (a VPC endpoint, a test collector)"),
	}
}

// link returns the link the flags ask for, or nil if they ask for none.
func (f relayFlags) link(trackingID string) (*relay.Link, error) {
	if *f.personalizeID == "" && *f.region == "" && *f.endpoint == "" {
		return nil, nil
	}
	return relay.NewLink(trackingID, *f.personalizeID, *f.region, *f.endpoint)
}

// trackerRelay links a tracker to a Personalize event tracker, or with
// --off unlinks it.
func trackerRelay(ctx context.Context, fs *flag.FlagSet, dbPath *string, args []string, stdout io.Writer) error {
	rf := addRelayFlags(fs)
	off := fs.Bool("off", false, "stop relaying this tracker's events")
	id, err := parseWithID(fs, "relay", args)
	if err != nil {
		return err
	}
	link, err := rf.link(id)
	switch {
	case err != nil:
		return fmt.Errorf("tracker relay: %w", err)
	case *off && link != nil:
		return errors.New("tracker relay: --off takes no other flags")
	case !*off && link == nil:
		return errors.New("tracker relay: want --personalize-tracking-id and --region (or --off)")
	}
	return withDB(ctx, *dbPath, func(db *sqlite.DB) error {
		if *off {
			if err := db.DeleteRelay(ctx, id); errors.Is(err, server.ErrTrackerNotFound) {
				return fmt.Errorf("tracker relay: %q is not relayed", id)
			} else if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s is no longer relayed\n", id)
			return nil
		}
		if err := db.SetRelay(ctx, link); errors.Is(err, server.ErrTrackerNotFound) {
			return fmt.Errorf("tracker relay: no tracker %q", id)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s relays to %s (Personalize trackingId %s)\n", id, link.URL(), link.PersonalizeTrackingID)
		return nil
	})
}

// relayCmd is `tracklet relay status`.
func relayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "status" {
		return errors.New("relay: want a subcommand: status")
	}
	fs, dbPath := newFlags("relay status", stderr)
	trackingID := fs.String("tracking-id", "", "only this tracker")
	limit := fs.Int("refusals", 10, "show this many of the latest refusals")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	return withDB(ctx, *dbPath, func(db *sqlite.DB) error {
		sts, err := db.RelayStatus(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TRACKING ID\tPERSONALIZE TRACKING ID\tURL\tSTATE\tRELAYED\tREFUSED\tPENDING\tCURSOR\tLAST ERROR")
		for _, s := range sts {
			if *trackingID != "" && s.TrackingID != *trackingID {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", s.TrackingID, s.PersonalizeTrackingID, s.URL(),
				s.State(), s.Relayed, s.Refused, s.Pending, s.Cursor, lastError(s))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		refusals, err := db.Refusals(ctx, *trackingID, *limit)
		if err != nil || len(refusals) == 0 {
			return err
		}
		fmt.Fprintln(stdout, "\nRefused by Personalize (not retried), newest first:")
		tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tTRACKING ID\tSEQ\tSTATUS\tERROR\tEVENT IDS\tMESSAGE")
		for _, r := range refusals {
			fmt.Fprintf(tw, "%s\t%s\t%d-%d\t%d\t%s\t%s\t%s\n", r.At.UTC().Format(time.RFC3339), r.TrackingID,
				r.FirstSeq, r.LastSeq, r.Status, r.ErrorType, strings.Join(r.EventIDs, ","), r.Message)
		}
		return tw.Flush()
	})
}

func lastError(s *relay.Status) string {
	if s.LastError == "" {
		return "-"
	}
	return s.LastErrorAt.UTC().Format(time.RFC3339) + " " + s.LastError
}
