//go:build !js

package d1_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	msqlite "modernc.org/sqlite"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/d1"
	"github.com/tracklet/tracklet/server/internal/storetest"
	"github.com/tracklet/tracklet/server/sqlite"
	"github.com/tracklet/tracklet/server/sqlite/sqlitetest"
)

// sqliteLimitVariableNumber is SQLITE_LIMIT_VARIABLE_NUMBER.
const sqliteLimitVariableNumber = 9

// openD1 returns a SQLite file with the worker's migrations applied, as
// `wrangler d1 migrations apply` builds it, whose connection refuses
// statements with more than d1.MaxVariables bound variables, as D1 does.
func openD1(t testing.TB) *sql.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "d1.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1) // the limit below belongs to one connection
	db.SetMaxIdleConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := msqlite.Limit(conn, sqliteLimitVariableNumber, d1.MaxVariables); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	files, err := filepath.Glob("../sqlite/migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	slices.Sort(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return db
}

func TestLimitIsEnforced(t *testing.T) {
	// The harness itself: without this, the chunking tests prove nothing.
	db := openD1(t)
	args := make([]any, d1.MaxVariables+1)
	q := "SELECT " + strings.TrimSuffix(strings.Repeat("?,", len(args)), ",")
	if _, err := db.Exec(q, args...); err == nil {
		t.Fatalf("a statement with %d variables ran; the D1 limit is not simulated", len(args))
	}
	if _, err := db.Exec(q[:len(q)-2], args[1:]...); err != nil {
		t.Fatalf("a statement with %d variables failed: %v", d1.MaxVariables, err)
	}
}

// TestSchemaMatchesSQLite keeps the D1 migrations and package sqlite's
// schema the same: same tables, columns (name, type, nullability, default,
// key) and indexes.
func TestSchemaMatchesSQLite(t *testing.T) {
	ctx := context.Background()
	native, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "native.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	native.Close()
	ndb := sqlitetest.OpenReadOnly(t, native.Path())
	want, got := schemaOf(t, ndb), schemaOf(t, openD1(t))
	if len(want) == 0 {
		t.Fatal("the native schema is empty")
	}
	for _, k := range union(want, got) {
		if want[k] != got[k] {
			t.Errorf("%s:\n  sqlite: %s\n  d1:     %s", k, orNone(want[k]), orNone(got[k]))
		}
	}
}

// schemaOf describes every table and index of db but SQLite's and D1's
// own, one line per column and per index.
func schemaOf(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	tables := strings.Fields(queryString(t, db, `SELECT group_concat(name, ' ') FROM sqlite_master
		WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'd1_%' AND name NOT LIKE '_cf_%'`))
	for _, tbl := range tables {
		rows, err := db.Query(`SELECT cid, name, type, "notnull", coalesce(dflt_value, ''), pk FROM pragma_table_info(?)`, tbl)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var cid, notnull, pk int
			var name, typ, dflt string
			if err := rows.Scan(&cid, &name, &typ, &notnull, &dflt, &pk); err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("column %s.%s", tbl, name)] = fmt.Sprintf("#%d %s notnull=%d default=%q pk=%d", cid, typ, notnull, dflt, pk)
		}
		rows.Close()
		rows, err = db.Query(`SELECT l.name, l."unique", (SELECT group_concat(name, ',') FROM pragma_index_info(l.name))
			FROM pragma_index_list(?) AS l`, tbl)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name, cols string
			var unique int
			if err := rows.Scan(&name, &unique, &cols); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(name, "sqlite_autoindex_") {
				name = "(constraint)" + cols // its number depends on declaration order only
			}
			out[fmt.Sprintf("index %s.%s", tbl, name)] = fmt.Sprintf("(%s) unique=%d", cols, unique)
		}
		rows.Close()
	}
	return out
}

func queryString(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	var s sql.NullString
	if err := db.QueryRow(q, args...).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s.String
}

func union(a, b map[string]string) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// batch is storetest.Batch: n events prefix-0..prefix-(n-1) with every
// member set, received at received.
var batch = storetest.Batch

func count(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestInsertOneStatement inserts queue batches of one to 100 messages:
// each is one statement with one bound variable, whatever its size (D1
// would refuse 14 variables per row past 7 rows).
func TestInsertOneStatement(t *testing.T) {
	now := time.UnixMilli(1714979289123)
	full := make([]int, 100) // a full queue batch: 100 requests of 10 events
	for i := range full {
		full[i] = 10
	}
	for _, sizes := range [][]int{{1}, {7}, {7, 1}, {4, 4}, {10, 10, 10, 10, 10, 10, 10}, {3, 10, 1, 10, 6}, full} {
		t.Run(fmt.Sprint(sizes), func(t *testing.T) {
			sqldb := openD1(t)
			db := d1.New(sqldb)
			var batches []*server.Batch
			total := 0
			for i, n := range sizes {
				batches = append(batches, batch(t, "tk_a", fmt.Sprint("b", i), n, now))
				total += n
			}
			res, err := db.Insert(context.Background(), batches)
			if err != nil {
				t.Fatal(err)
			}
			if res.PutResult != (server.PutResult{Accepted: total}) || res.Statements != 1 {
				t.Errorf("Insert = %+v, want %d accepted in one statement", res, total)
			}
			if n := count(t, sqldb); n != total {
				t.Errorf("%d rows stored, want %d", n, total)
			}
			// The queue redelivers the same batches: nothing new is stored.
			res, err = db.Insert(context.Background(), batches)
			if err != nil {
				t.Fatal(err)
			}
			if res.PutResult != (server.PutResult{Duplicates: total}) {
				t.Errorf("second Insert = %+v, want %d duplicates", res, total)
			}
			if n := count(t, sqldb); n != total {
				t.Errorf("after redelivery %d rows stored, want %d", n, total)
			}
		})
	}
}

func TestInsertDedup(t *testing.T) {
	sqldb := openD1(t)
	db := d1.New(sqldb)
	ctx := context.Background()
	now := time.UnixMilli(1714979289123)
	a := batch(t, "tk_a", "x", 3, now)
	// The same eventIds for another tracker are other events.
	b := batch(t, "tk_b", "x", 3, now)
	// An eventId twice in one request: the first wins.
	c := batch(t, "tk_a", "y", 2, now)
	c.Request.EventList[1].EventID = c.Request.EventList[0].EventID
	c.Request.EventList[1].EventType = "Second"
	res, err := db.Insert(ctx, []*server.Batch{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	if want := (server.PutResult{Accepted: 7, Duplicates: 1}); res.PutResult != want {
		t.Errorf("Insert = %+v, want %+v", res, want)
	}
	var typ string
	if err := sqldb.QueryRow(`SELECT event_type FROM events WHERE tracking_id = 'tk_a' AND event_id = 'y-0'`).Scan(&typ); err != nil {
		t.Fatal(err)
	}
	if typ != "View" {
		t.Errorf("event y-0 has type %q, want the first one's, View", typ)
	}
}

func TestInsertNeedsEventIDs(t *testing.T) {
	db := d1.New(openD1(t))
	b := batch(t, "tk_a", "x", 2, time.Now())
	b.Request.EventList[1].EventID = nil
	if _, err := db.Insert(context.Background(), []*server.Batch{b}); err == nil {
		t.Fatal("Insert stored an event without an eventId: a redelivery would store it twice")
	}
}

// TestSameRowsAsSQLite stores the same batches through package sqlite and
// through d1 and compares the rows byte for byte (but seq).
func TestSameRowsAsSQLite(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1714979289123)
	batches := func() []*server.Batch {
		b1 := batch(t, "tk_a", "x", 10, now)
		b2 := batch(t, "tk_a", "y", 1, now.Add(time.Second))
		// Optional members absent, no user, no client send time.
		b2.Request.UserID = nil
		e := &b2.Request.EventList[0]
		e.ItemID, e.EventValue, e.Impression, e.RecommendationID, e.MetricAttribution, e.Properties = nil, nil, nil, nil, nil, nil
		b2.ClientSentAt = time.Time{}
		return []*server.Batch{b1, b2}
	}
	native, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "native.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches() {
		if _, err := native.PutEvents(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	native.Close()
	ndb := sqlitetest.OpenReadOnly(t, native.Path())

	wdb := openD1(t)
	if _, err := d1.New(wdb).Insert(ctx, batches()); err != nil {
		t.Fatal(err)
	}
	want, got := dump(t, ndb), dump(t, wdb)
	if len(want) != 11 {
		t.Fatalf("native store has %d rows, want 11", len(want))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows differ:\n d1:     %q\n sqlite: %q", got, want)
	}

	// And both read back the same, whatever the filter.
	natDB, err := sqlite.Open(ctx, native.Path(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer natDB.Close()
	for _, tc := range []struct {
		f    server.EventFilter
		want int
	}{
		{server.EventFilter{TrackingID: "tk_a", Limit: 100}, 11},
		{server.EventFilter{TrackingID: "tk_b"}, 0},
		{server.EventFilter{AfterSeq: 2, Limit: 5}, 5},
		{server.EventFilter{AfterSeq: 2, ThroughSeq: 6}, 4}, // an export's snapshot
		// sentAt is 10 s before receipt: x-* at …279.00x, y-0 at …280.
		{server.EventFilter{Since: time.Unix(now.Unix()-10, 5e8)}, 1},
		{server.EventFilter{Until: time.Unix(now.Unix()-10, 5e8)}, 10},
	} {
		var read [2][]server.StoredEvent
		for i, r := range []server.EventReader{natDB, d1.New(wdb)} {
			for e, err := range r.Events(ctx, tc.f) {
				if err != nil {
					t.Fatal(err)
				}
				read[i] = append(read[i], *e)
			}
		}
		if len(read[0]) != tc.want {
			t.Errorf("%+v: sqlite read %d events, want %d", tc.f, len(read[0]), tc.want)
		}
		if !reflect.DeepEqual(read[0], read[1]) {
			t.Errorf("%+v: Events differ:\n sqlite: %+v\n d1:     %+v", tc.f, read[0], read[1])
		}
	}
}

// dump returns every events row as text, typed, without seq.
func dump(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT tracking_id, event_id, session_id, user_id, event_type, sent_at_ms, received_at_ms,
		occurred_at_ms, item_id, event_value, impression, recommendation_id, metric_attribution, properties FROM events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals := make([]any, 14)
		ptrs := make([]any, 14)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, v := range vals {
			fmt.Fprintf(&b, "%T:%v|", v, v)
		}
		out = append(out, b.String())
	}
	return out
}

// TestStore runs the storage suite that every backend runs, on a SQLite
// file with D1's variable limit.
func TestStore(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(t testing.TB) storetest.Store { return d1.New(openD1(t)) },
		Reject: func(ctx context.Context, s storetest.Store, r *server.Rejection) error {
			return s.(*d1.DB).InsertRejected(ctx, r)
		},
	})
}

func TestRejectedIsBounded(t *testing.T) {
	ctx := context.Background()
	db := d1.New(openD1(t))
	db.MaxRejected = 3
	for i := range 4 {
		r := &server.Rejection{ReceivedAt: time.UnixMilli(int64(1000 + i)), Status: 400, Reason: fmt.Sprint("bad ", i),
			Body: strings.Repeat("x", server.MaxRejectedBody+10)}
		if i%2 == 0 {
			r.TrackingID, r.Origin = "tk_a", "https://shop.example"
		}
		if err := db.InsertRejected(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := db.Rejected(ctx, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := min(i+1, 3); len(got) != want {
			t.Fatalf("after %d rejections %d are kept, want %d", i+1, len(got), want)
		}
		if got[0].Reason != fmt.Sprint("bad ", i) || len(got[0].Body) != server.MaxRejectedBody {
			t.Errorf("newest rejection %q with a %d-byte body", got[0].Reason, len(got[0].Body))
		}
	}
	got, err := db.Rejected(ctx, "tk_a", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Reason != "bad 2" || got[0].Origin != "https://shop.example" {
		t.Errorf("tk_a's rejections: %+v, want only bad 2 (bad 0 was trimmed)", got)
	}
}

// TestFailedInsertIsAtomic is the queue's at-least-once delivery meeting
// D1: a batch whose statement fails stores nothing; the redelivered batch
// stores all of it.
func TestFailedInsertIsAtomic(t *testing.T) {
	ctx := context.Background()
	sqldb := openD1(t)
	db := d1.New(sqldb)
	now := time.UnixMilli(1714979289123)
	batches := []*server.Batch{batch(t, "tk_a", "a", 10, now), batch(t, "tk_a", "b", 10, now)}
	batches[1].Request.EventList[0].EventType = "Boom" // event 11
	if _, err := sqldb.Exec(`CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.event_type = 'Boom'
		BEGIN SELECT RAISE(ABORT, 'D1 is down'); END`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Insert(ctx, batches); err == nil {
		t.Fatal("Insert succeeded through a failing statement")
	}
	if n := count(t, sqldb); n != 0 {
		t.Fatalf("after the failure %d events are stored, want none", n)
	}
	if _, err := sqldb.Exec(`DROP TRIGGER boom`); err != nil {
		t.Fatal(err)
	}
	res, err := db.Insert(ctx, batches) // the queue's redelivery
	if err != nil {
		t.Fatal(err)
	}
	if want := (server.PutResult{Accepted: 20}); res.PutResult != want {
		t.Errorf("redelivery: %+v, want %+v", res, want)
	}
}

// TestInsertSplitsLargeBatches sends more than MaxStatementJSON bytes of
// events: they go in several statements, each under D1's 2 MB string
// limit, and a redelivery after a failure in the second stores exactly
// the rest.
func TestInsertSplitsLargeBatches(t *testing.T) {
	ctx := context.Background()
	sqldb := openD1(t)
	db := d1.New(sqldb)
	now := time.UnixMilli(1714979289123)
	var batches []*server.Batch
	big := strings.Repeat("x", event.MaxPropertiesLength-20)
	for i := range 100 {
		b := batch(t, "tk_a", fmt.Sprint("m", i), 10, now)
		for j := range b.Request.EventList {
			b.Request.EventList[j].Properties = event.String(`{"p":"` + big + `"}`)
		}
		batches = append(batches, b)
	}
	last := batches[99].Request.EventList
	last[len(last)-1].EventType = "Boom"
	if _, err := sqldb.Exec(`CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.event_type = 'Boom'
		BEGIN SELECT RAISE(ABORT, 'D1 is down'); END`); err != nil {
		t.Fatal(err)
	}
	res, err := db.Insert(ctx, batches)
	if err == nil {
		t.Fatal("Insert succeeded through a failing statement")
	}
	stored := count(t, sqldb)
	if res.Statements < 2 || stored == 0 || stored >= 1000 {
		t.Fatalf("%d statements stored %d of 1000 events before failing; want several statements, the first ones applied", res.Statements, stored)
	}
	if _, err := sqldb.Exec(`DROP TRIGGER boom`); err != nil {
		t.Fatal(err)
	}
	res, err = db.Insert(ctx, batches)
	if err != nil {
		t.Fatal(err)
	}
	if want := (server.PutResult{Accepted: 1000 - stored, Duplicates: stored}); res.PutResult != want {
		t.Errorf("redelivery: %+v, want %+v", res, want)
	}
	if n := count(t, sqldb); n != 1000 {
		t.Errorf("%d events stored, want each of the 1000 once", n)
	}
}

// TestAdminMatchesSQLite gives both stores the same trackers, events and
// rejections and compares what the admin API reads from them.
func TestAdminMatchesSQLite(t *testing.T) {
	ctx := context.Background()
	native, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "native.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer native.Close()
	worker := d1.New(openD1(t))
	now := time.UnixMilli(1714979289123)
	for i, origins := range [][]string{nil, {"https://shop.example"}} {
		tr, err := native.CreateTracker(ctx, fmt.Sprint("t", i), origins)
		if err != nil {
			t.Fatal(err)
		}
		wtr, err := worker.CreateTracker(ctx, tr.Name, origins)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			continue // a tracker without events or rejections
		}
		if _, err := native.PutEvents(ctx, batch(t, tr.ID, "x", 3, now)); err != nil {
			t.Fatal(err)
		}
		if _, err := worker.Insert(ctx, []*server.Batch{batch(t, wtr.ID, "x", 3, now)}); err != nil {
			t.Fatal(err)
		}
		native.RecordRejected(&server.Rejection{ReceivedAt: now, TrackingID: tr.ID, Status: 403, Reason: "origin", Body: "{}"})
		if err := worker.InsertRejected(ctx, &server.Rejection{ReceivedAt: now, TrackingID: wtr.ID, Status: 403, Reason: "origin", Body: "{}"}); err != nil {
			t.Fatal(err)
		}
	}
	var want []*server.TrackerStats
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if want, err = native.Stats(ctx); err != nil {
			t.Fatal(err)
		}
		if want[1].Rejected == 1 || time.Now().After(deadline) { // RecordRejected does not wait
			break
		}
	}
	got, err := worker.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(got))
	for i := range want {
		// CreatedAt comes from each store's clock, the trackingId from
		// token.NewTrackingID.
		want[i].CreatedAt, got[i].CreatedAt = time.Time{}, time.Time{}
		ids[i] = got[i].ID
		want[i].ID, got[i].ID = "", ""
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Stats:\n d1:     %+v\n sqlite: %+v", got, want)
	}
	if want[1].Events != 3 || want[1].Rejected != 1 {
		t.Errorf("sqlite Stats %+v: the test's data did not arrive", want[1])
	}

	for _, tid := range []string{ids[1], ""} {
		n, err := worker.DeleteEvents(ctx, tid)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(3); tid != "" && n != want {
			t.Errorf("DeleteEvents(%q) = %d, want %d", tid, n, want)
		}
	}
}
