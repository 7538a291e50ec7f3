//go:build !js

package archive_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/export"
	"github.com/tracklet/tracklet/server/sqlite"
	"github.com/tracklet/tracklet/server/worker/archive"
)

// memBucket is a Bucket in memory that counts its puts; the worker's R2
// bucket is exercised under wrangler (archive_wrangler_test.go in
// server/worker).
type memBucket struct {
	mu    sync.Mutex
	files map[string][]byte
	puts  int
	fail  string // a key whose Put fails
}

func (b *memBucket) Put(_ context.Context, key string, body []byte, _ string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if key == b.fail {
		return fmt.Errorf("R2 is down")
	}
	b.files[key] = bytes.Clone(body)
	b.puts++
	return nil
}

func (b *memBucket) Get(_ context.Context, key string) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.files[key]
	if !ok {
		return nil, archive.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(f)), nil
}

// store is a database with the migrations applied, filled through the
// native store (which lets the test choose receipt times), and read as
// D1 would be.
type store struct {
	native *sqlite.DB
	db     *sql.DB
}

func newStore(t *testing.T) *store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "d1.sqlite")
	native, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { native.Close() })
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &store{native: native, db: db}
}

// put stores n events of tid received at at, with eventIds prefix-i; the
// even ones have an itemId (the Personalize CSV's rows) and a genre.
func (s *store) put(t *testing.T, tid, prefix string, n int, at time.Time) {
	t.Helper()
	var evs []string
	for i := range n {
		item := ""
		if i%2 == 0 {
			item = fmt.Sprintf(`"itemId":"item%d","properties":"{\"genre\":\"g%d\"}",`, i, i)
		}
		evs = append(evs, fmt.Sprintf(`{"eventId":"%s-%d","eventType":"View",%s"sentAt":%d}`, prefix, i, item, at.Unix()))
	}
	req, err := event.DecodeRequest([]byte(fmt.Sprintf(`{"trackingId":%q,"sessionId":"s","eventList":[%s]}`, tid, strings.Join(evs, ","))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.native.PutEvents(context.Background(), &server.Batch{Request: req, ReceivedAt: at}); err != nil {
		t.Fatal(err)
	}
}

func (s *store) count(t *testing.T) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// archivedIDs returns the eventIds in every NDJSON file of b, counting
// repeats.
func archivedIDs(t *testing.T, b *memBucket) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for key, f := range b.files {
		if !strings.HasSuffix(key, ".ndjson") {
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(string(f)), "\n") {
			var r struct {
				EventID    string `json:"eventId"`
				TrackingID string `json:"trackingId"`
			}
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%s: %v: %q", key, err, line)
			}
			if !strings.HasPrefix(key, r.TrackingID+"/") {
				t.Errorf("%s holds an event of %s", key, r.TrackingID)
			}
			ids[r.EventID]++
		}
	}
	return ids
}

// checkPersonalize checks that every NDJSON file of b has its Personalize
// CSV and schema beside it: the CSV's header is the schema's fields, with
// the metadata columns wanted last, and its rows are the file's events
// that have an itemId, in order.
func checkPersonalize(t *testing.T, b *memBucket, columns ...string) {
	t.Helper()
	for key, f := range b.files {
		base, ok := strings.CutSuffix(key, ".ndjson")
		if !ok {
			continue
		}
		var want []string // the itemIds of the part's events
		for _, line := range strings.Split(strings.TrimSpace(string(f)), "\n") {
			var r struct {
				ItemID string `json:"itemId"`
			}
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatal(err)
			}
			if r.ItemID != "" {
				want = append(want, r.ItemID)
			}
		}
		rows, err := csv.NewReader(bytes.NewReader(b.files[base+".personalize.csv"])).ReadAll()
		if err != nil || len(rows) == 0 {
			t.Fatalf("%s.personalize.csv: %v, %d rows; files: %v", base, err, len(rows), keys(b))
		}
		var schema struct {
			Fields []struct {
				Name string `json:"name"`
			} `json:"fields"`
		}
		if err := json.Unmarshal(b.files[base+".personalize.schema.json"], &schema); err != nil {
			t.Fatalf("%s.personalize.schema.json: %v", base, err)
		}
		var names []string
		for _, f := range schema.Fields {
			names = append(names, f.Name)
		}
		header := rows[0]
		if !slices.Equal(header, names) || len(header) < 2 || header[1] != "ITEM_ID" ||
			!slices.Equal(header[len(header)-len(columns):], columns) {
			t.Errorf("%s: CSV header %v, schema fields %v; want the same, ending in %v", base, header, names, columns)
		}
		var got []string
		for _, row := range rows[1:] {
			got = append(got, row[1])
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s: CSV items %v, want the events' with an itemId %v", base, got, want)
		}
	}
}

func TestArchive(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	b := &memBucket{files: map[string][]byte{}}
	h10 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	cols, err := export.ParseColumns("genre")
	if err != nil {
		t.Fatal(err)
	}
	a := &archive.Archiver{DB: s.db, Bucket: b, Window: 80 * time.Minute, MaxPartEvents: 25, PersonalizeColumns: cols}
	s.put(t, "tk_a", "a10", 10, h10.Add(5*time.Minute))
	s.put(t, "tk_a", "a10b", 10, h10.Add(59*time.Minute))
	s.put(t, "tk_b", "b10", 3, h10.Add(30*time.Minute))
	s.put(t, "tk_a", "a11", 10, h10.Add(70*time.Minute)) // 11:10, open at 11:14

	// 11:14: hour 10 is not closed until 11:15 (the grace).
	if rep, err := a.Run(ctx, h10.Add(74*time.Minute)); err != nil || rep.Parts != 0 {
		t.Fatalf("run within the grace: %+v, %v", rep, err)
	}
	// 11:20: hour 10 of both trackers.
	rep, err := a.Run(ctx, h10.Add(80*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Parts != 2 || rep.Events != 23 || rep.Deleted != 0 {
		t.Errorf("first run: %+v, want tk_a's and tk_b's hour 10: 23 events, nothing deleted", rep)
	}
	for _, key := range []string{"tk_a/2026/12/01/10-1.ndjson", "tk_b/2026/12/01/10-1.ndjson", "tk_a/2026/12/01/10.manifest.json",
		"tk_a/2026/12/01/10-1.personalize.csv", "tk_a/2026/12/01/10-1.personalize.schema.json"} {
		if _, ok := b.files[key]; !ok {
			t.Errorf("no %s in %v", key, keys(b))
		}
	}
	// The same run again, a retry: nothing new.
	puts := b.puts
	if rep, err := a.Run(ctx, h10.Add(80*time.Minute)); err != nil || rep.Parts != 0 || b.puts != puts {
		t.Errorf("second run: %+v, %v, %d puts; want nothing done", rep, err, b.puts-puts)
	}

	// A late event for hour 10 (a queue retry): part 2.
	s.put(t, "tk_a", "late", 1, h10.Add(50*time.Minute))
	// 12:20: hours 10 (late part) and 11; the window (80 min) deletes hour 10.
	rep, err = a.Run(ctx, h10.Add(140*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// Hour 10's events go but the late one, the newest (see trim).
	if rep.Parts != 2 || rep.Events != 11 || rep.Deleted != 23 || rep.Unarchived != 0 {
		t.Errorf("third run: %+v, want 2 parts of 11 events, 23 of hour 10's 24 deleted", rep)
	}
	onceEach(t, archivedIDs(t, b), 34)
	checkPersonalize(t, b, "GENRE")
	if n := s.count(t); n != 11 {
		t.Errorf("D1 keeps %d events, want hour 11's 10 and the newest", n)
	}
	var m archive.Manifest
	if err := json.Unmarshal(b.files["tk_a/2026/12/01/10.manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if m.Events != 21 || len(m.Parts) != 2 || m.Parts[1].Files[0].Key != "tk_a/2026/12/01/10-2.ndjson" ||
		len(m.Parts[1].Files) != 3 || m.Parts[1].Files[1].Key != "tk_a/2026/12/01/10-2.personalize.csv" ||
		m.Parts[1].Files[2].Key != "tk_a/2026/12/01/10-2.personalize.schema.json" {
		t.Errorf("manifest of tk_a's hour 10: %+v", m)
	}
	parts, err := archive.List(ctx, s.db, "tk_a", time.Time{}, time.Time{})
	if err != nil || len(parts) != 3 {
		t.Errorf("List(tk_a) = %d parts, %v; want 3", len(parts), err)
	}
}

// TestArchiveExactlyOnceAcrossFailures fails a run between claiming a part
// and finishing it, and lets parts be cut by size: the next run completes
// the same range, and every event is in exactly one file.
func TestArchiveExactlyOnceAcrossFailures(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	b := &memBucket{files: map[string][]byte{}, fail: "tk_a/2026/12/01/10-2.ndjson"}
	h10 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a := &archive.Archiver{DB: s.db, Bucket: b, MaxPartEvents: 20}
	for i := range 5 {
		s.put(t, "tk_a", fmt.Sprint("r", i), 10, h10.Add(time.Duration(i)*time.Minute))
	}
	now := h10.Add(2 * time.Hour)
	if _, err := a.Run(ctx, now); err == nil {
		t.Fatal("a run whose second put failed succeeded")
	}
	// Meanwhile a late event arrives for the hour.
	s.put(t, "tk_a", "late", 1, h10.Add(30*time.Minute))
	b.fail = ""
	rep, err := a.Run(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	// Part 2 redone (events 21-40), then part 3: the last 10 and the late one.
	if rep.Parts != 2 || rep.Events != 31 {
		t.Errorf("second run: %+v, want part 2 redone and part 3 of 11 events", rep)
	}
	onceEach(t, archivedIDs(t, b), 51)
	checkPersonalize(t, b)
	var pending int
	s.db.QueryRow(`SELECT count(*) FROM archived_hours WHERE done = 0`).Scan(&pending)
	if pending != 0 {
		t.Errorf("%d claims left undone", pending)
	}
}

func keys(b *memBucket) []string {
	var out []string
	for k := range b.files {
		out = append(out, k)
	}
	return out
}

// onceEach checks that want events are archived, each in one file.
func onceEach(t *testing.T, ids map[string]int, want int) {
	t.Helper()
	if len(ids) != want {
		t.Errorf("%d events archived, want %d", len(ids), want)
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("event %s is in %d files", id, n)
		}
	}
}

// TestArchiveKeepsSeqGrowing archives and trims everything, then takes
// new events: they must get new seqs (SQLite reuses the rowids of an
// emptied table), or they would pass for archived and be deleted unsaved.
func TestArchiveKeepsSeqGrowing(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	b := &memBucket{files: map[string][]byte{}}
	h10 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a := &archive.Archiver{DB: s.db, Bucket: b, Window: time.Hour}
	s.put(t, "tk_a", "old", 10, h10)
	rep, err := a.Run(ctx, h10.Add(3*time.Hour))
	if err != nil || rep.Parts != 1 || rep.Deleted != 9 {
		t.Fatalf("first run: %+v, %v; want 1 part, 9 of 10 deleted (the newest stays)", rep, err)
	}
	s.put(t, "tk_a", "new", 10, h10.Add(10*time.Minute)) // late, into the archived hour
	rep, err = a.Run(ctx, h10.Add(3*time.Hour))
	if err != nil || rep.Parts != 1 || rep.Events != 10 || rep.Unarchived != 0 {
		t.Fatalf("second run: %+v, %v; want the 10 new events archived", rep, err)
	}
	onceEach(t, archivedIDs(t, b), 20)
}
