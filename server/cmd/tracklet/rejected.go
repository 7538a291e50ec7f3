package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tracklet/tracklet/server/sqlite"
)

func rejectedCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dbPath := newFlags("rejected", stderr)
	trackingID := fs.String("tracking-id", "", "only this tracker's rejections")
	limit := fs.Int("limit", 20, "show at most this many, newest first")
	bodies := fs.Bool("body", false, "also print the start of each rejected body")
	if err := parse(fs, args); err != nil {
		return err
	}
	return withDB(ctx, *dbPath, func(db *sqlite.DB) error {
		rs, err := db.Rejected(ctx, *trackingID, *limit)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tSTATUS\tTRACKING ID\tORIGIN\tREASON")
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", r.ReceivedAt.UTC().Format(time.RFC3339Nano), r.Status,
				orDash(r.TrackingID), orDash(r.Origin), r.Reason)
			if *bodies {
				fmt.Fprintf(tw, "\t\t\t\tbody: %s\n", strconv.Quote(strings.TrimSpace(r.Body)))
			}
		}
		return tw.Flush()
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
