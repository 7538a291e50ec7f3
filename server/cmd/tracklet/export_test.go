package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/sqlite"
)

// seedEvents stores one event per sentAt (epoch ms) for a new tracker and
// returns its trackingId. The event's type names its sentAt.
func seedEvents(t *testing.T, path string, sentAtMs ...int64) string {
	t.Helper()
	ctx := context.Background()
	db := openStore(t, path)
	defer db.Close()
	tr, err := db.CreateTracker(ctx, "export", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ms := range sentAtMs {
		req := &event.Request{TrackingID: tr.ID, SessionID: "s", EventList: []event.Event{
			{EventType: fmt.Sprint("at", ms), SentAt: event.Timestamp(float64(ms) / 1000)}}}
		if err := server.AssignEventIDs(req); err != nil { // as the handler does
			t.Fatal(err)
		}
		if _, err := db.PutEvents(ctx, &server.Batch{Request: req, ReceivedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	return tr.ID
}

// TestExportSinceUntil checks the time window at its edges: --since is
// inclusive, --until exclusive, to the millisecond, in each accepted form.
func TestExportSinceUntil(t *testing.T) {
	db := filepath.Join(t.TempDir(), "window.db")
	const t0 = 1714979289123 // 2024-05-06T07:08:09.123Z
	tid := seedEvents(t, db, t0-1, t0, t0+1, t0+1000)

	tests := []struct {
		since, until string
		want         []int64
	}{
		{"", "", []int64{t0 - 1, t0, t0 + 1, t0 + 1000}},
		{"1714979289123", "", []int64{t0, t0 + 1, t0 + 1000}}, // milliseconds
		{"2024-05-06T07:08:09.123Z", "", []int64{t0, t0 + 1, t0 + 1000}},
		{"2024-05-06T09:08:09.124+02:00", "", []int64{t0 + 1, t0 + 1000}},
		{"1714979289.123", "", []int64{t0, t0 + 1, t0 + 1000}}, // seconds
		{"", "1714979289123", []int64{t0 - 1}},
		{"", "2024-05-06T07:08:09.124Z", []int64{t0 - 1, t0}},
		{"1714979289", "1714979290", []int64{t0 - 1, t0, t0 + 1}},
		{"1714979289123", "1714979289124", []int64{t0}},
		{"1714979289123", "1714979289123", nil}, // an empty window
		{"1714979290123", "", []int64{t0 + 1000}},
		{"1714979290124", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.since+"_"+tt.until, func(t *testing.T) {
			args := []string{"export", "--db", db, "--tracking-id", tid}
			if tt.since != "" {
				args = append(args, "--since", tt.since)
			}
			if tt.until != "" {
				args = append(args, "--until", tt.until)
			}
			out := mustTracklet(t, args...)
			got := regexp.MustCompile(`"eventType":"at(\d+)"`).FindAllStringSubmatch(out, -1)
			var gotMs []string
			for _, m := range got {
				gotMs = append(gotMs, m[1])
			}
			var wantMs []string
			for _, ms := range tt.want {
				wantMs = append(wantMs, fmt.Sprint(ms))
			}
			if strings.Join(gotMs, ",") != strings.Join(wantMs, ",") {
				t.Errorf("exported sentAt %v, want %v", gotMs, wantMs)
			}
		})
	}
	for _, bad := range []string{"yesterday", "2024-05-06", "-"} {
		_, err := tracklet(t, nil, "export", "--db", db, "--since", bad)
		if err == nil || !strings.Contains(err.Error(), "--since") {
			t.Errorf("--since %q: %v, want an error naming --since", bad, err)
		}
	}
}

// TestExportProgress forces the progress display on (stderr is a pipe
// here, so it is off by default) and checks what it shows, and that the
// export itself is unaffected.
func TestExportProgress(t *testing.T) {
	db := filepath.Join(t.TempDir(), "progress.db")
	ms := make([]int64, 25)
	for i := range ms {
		ms[i] = 1714979289000 + int64(i)
	}
	tid := seedEvents(t, db, ms...)
	for _, format := range []string{"ndjson", "csv"} {
		out := filepath.Join(t.TempDir(), "out."+format)
		cmd := exec.Command(binary, "export", "--db", db, "--tracking-id", tid, "--format", format, "--progress", "-o", out)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", format, err, stderr.String())
		}
		progress := stderr.String()
		if !strings.HasPrefix(progress, "\rexported 1 events (") {
			t.Errorf("%s: progress does not start at the first event: %q", format, progress)
		}
		if !regexp.MustCompile(`\rexported 25 events in \d+(\.\d+)?m?s\n$`).MatchString(progress) {
			t.Errorf("%s: progress does not end with the total: %q", format, progress)
		}
		cmd = exec.Command(binary, "export", "--db", db, "--tracking-id", tid, "--format", format, "-o", out)
		stderr.Reset()
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() != 0 {
			t.Errorf("%s without --progress on a pipe: %v, stderr %q", format, err, stderr.String())
		}
	}
}

// TestExportPersonalize runs `tracklet export --format personalize`: the
// CSV and its schema beside it, what was left out on stderr, and every
// refusal made before a file exists.
func TestExportPersonalize(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "p.db")
	ctx := context.Background()
	store, err := sqlite.Open(ctx, db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := store.CreateTracker(ctx, "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	req := &event.Request{TrackingID: tr.ID, SessionID: "s", UserID: event.String("u1"), EventList: []event.Event{
		{EventType: "Rate", ItemID: event.String("m1"), SentAt: 1714979289.5, Properties: event.String(`{"genre":"noir","numberOfRatings":"12"}`)},
		{EventType: "Impression", SentAt: 1714979290, Impression: []string{"m1", "m2"}},
	}}
	if err := server.AssignEventIDs(req); err != nil { // as the handler does
		t.Fatal(err)
	}
	if _, err := store.PutEvents(ctx, &server.Batch{Request: req, ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	store.Close()

	out := filepath.Join(dir, "interactions.csv")
	cmd := exec.Command(binary, "export", "--db", db, "--format", "personalize", "--columns", "genre,numberOfRatings:int", "-o", out)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	csvText, _ := os.ReadFile(out)
	if want := "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,IMPRESSION,RECOMMENDATION_ID,GENRE,NUMBER_OF_RATINGS\n" +
		"u1,m1,1714979289,Rate,,,,noir,12\n"; string(csvText) != want {
		t.Errorf("CSV\n%s\nwant\n%s", csvText, want)
	}
	schema, err := os.ReadFile(filepath.Join(dir, "interactions.schema.json"))
	if err != nil || !strings.Contains(string(schema), `"name": "NUMBER_OF_RATINGS",`+"\n      \"type\": \"int\"") {
		t.Errorf("schema beside the CSV: %v\n%s", err, schema)
	}
	wantErr := "left out 1 \"Impression\" events without an itemId (Personalize requires ITEM_ID)\n" +
		"warning: 1 interactions: Personalize needs at least 1000 to train (and a dataset import job at least 1000 records)\n" +
		"warning: 0 users with 2 or more interactions: Personalize needs at least 25 to train\n"
	if stderr.String() != wantErr {
		t.Errorf("stderr\n%s\nwant\n%s", stderr.String(), wantErr)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--columns", "myUrl,myURL", "-o", "x.csv"}, `--columns: columns "myUrl" and "myURL" would be MY_URL and MY_URL`},
		{[]string{"--columns", "itemId", "-o", "x.csv"}, `--columns: column "itemId" would be ITEM_ID`},
		{[]string{"--columns", "a,b,c,d,e,f", "-o", "x.csv"}, "--columns: 6 columns"},
		{[]string{"--columns", "genre"}, "--format personalize writes a CSV and its schema: give -o FILE.csv"},
	} {
		path := filepath.Join(dir, "x.csv")
		for i, a := range tt.args {
			if a == "x.csv" {
				tt.args[i] = path
			}
		}
		_, err := tracklet(t, nil, append([]string{"export", "--db", db, "--format", "personalize"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want an error with %q", tt.args, err, tt.want)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%q: refused but created %s", tt.args, path)
		}
	}
	if _, err := tracklet(t, nil, "export", "--db", db, "--columns", "genre"); err == nil || !strings.Contains(err.Error(), "are for --format personalize") {
		t.Errorf("--columns with ndjson: %v", err)
	}
}
