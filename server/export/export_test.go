package export_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/export"
	"github.com/tracklet/tracklet/server/sqlite"
)

// store puts reqs into a new SQLite file and returns it with the trackingId
// the requests were sent for; a second tracker's events sit beside them.
func store(t *testing.T, reqs ...*event.Request) (*sqlite.DB, string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "export.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tr, err := db.CreateTracker(ctx, "shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.CreateTracker(ctx, "other", nil)
	if err != nil {
		t.Fatal(err)
	}
	received := time.UnixMilli(1714979300000)
	for _, r := range append(reqs, &event.Request{TrackingID: other.ID, SessionID: "x",
		EventList: []event.Event{{EventType: "Other", SentAt: 1, Properties: event.String(`{"otherKey":"x"}`)}}}) {
		if r.TrackingID == "" {
			r.TrackingID = tr.ID
		}
		if err := server.AssignEventIDs(r); err != nil { // as the handler does
			t.Fatal(err)
		}
		if _, err := db.PutEvents(ctx, &server.Batch{Request: r, ReceivedAt: received}); err != nil {
			t.Fatal(err)
		}
	}
	return db, tr.ID
}

func TestCSVColumnByColumn(t *testing.T) {
	db, tid := store(t,
		&event.Request{SessionID: "sess1", UserID: event.String("user1"), EventList: []event.Event{{
			EventType: "MovieRating", ItemID: event.String("movie1"), EventValue: event.Float(4.5), SentAt: 1714979289.999,
			// Top-level itemId and eventValue win over the same keys here.
			Properties: event.String(`{"numberOfRatings":12,"itemId":"ignored","eventValue":"1","genre":"drama, \"noir\"","pageURL":"/m/1","isNew":true,"price":1.50}`),
		}, {
			// Without top-level itemId/eventValue, the properties fill them.
			EventType: "View", SentAt: 1714979290, Properties: event.String(`{"itemId":"movie2","eventValue":3}`),
		}}},
		// Without a userId, USER_ID is the sessionId; no properties at all.
		&event.Request{SessionID: "anon-session", EventList: []event.Event{{EventType: "Watch", SentAt: 1714979291.5, ItemID: event.String("m3")}}},
	)
	var out bytes.Buffer
	var progress []int64
	n, err := export.Write(t.Context(), &out, db, server.EventFilter{TrackingID: tid}, "csv",
		func(n int64) { progress = append(progress, n) })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(progress, []int64{1, 2, 3}) {
		t.Errorf("progress reported %v, want after each row", progress)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE", "GENRE", "IS_NEW", "NUMBER_OF_RATINGS", "PAGE_URL", "PRICE"},
		{"user1", "movie1", "1714979289", "MovieRating", "4.5", `drama, "noir"`, "true", "12", "/m/1", "1.50"},
		{"user1", "movie2", "1714979290", "View", "3", "", "", "", "", ""}, // the request's userId
		{"anon-session", "m3", "1714979291", "Watch", "", "", "", "", "", ""},
	}
	if n != 3 {
		t.Errorf("Write returned %d, want 3 events", n)
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d:\n%q", len(rows), len(want), rows)
	}
	for i := range want {
		for j := range want[i] {
			if j >= len(rows[i]) || rows[i][j] != want[i][j] {
				t.Errorf("row %d column %s: %q, want %q", i, want[0][j], get(rows[i], j), want[i][j])
			}
		}
		if len(rows[i]) != len(want[i]) {
			t.Errorf("row %d has %d columns, want %d", i, len(rows[i]), len(want[i]))
		}
	}
}

func get(row []string, j int) string {
	if j < len(row) {
		return row[j]
	}
	return "<missing>"
}

func TestColumnName(t *testing.T) {
	for key, want := range map[string]string{
		"numberOfRatings": "NUMBER_OF_RATINGS", "genre": "GENRE", "pageURL": "PAGE_URL", "a1B": "A1_B", "x": "X",
	} {
		if got := export.ColumnName(key); got != want {
			t.Errorf("ColumnName(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestCSVEmpty: a tracker without events still gets the header.
func TestCSVEmpty(t *testing.T) {
	db, tid := store(t)
	var out bytes.Buffer
	if n, err := export.Write(t.Context(), &out, db, server.EventFilter{TrackingID: tid}, "csv", nil); err != nil || n != 0 {
		t.Fatalf("%d, %v", n, err)
	}
	if out.String() != "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n" {
		t.Errorf("empty export: %q", out.String())
	}
}

// TestNDJSONRoundTrip reads every exported line back with event.DecodeEvent
// and gets the stored event, eventId included; the envelope and server
// times are the line's other members.
func TestNDJSONRoundTrip(t *testing.T) {
	events := []event.Event{{
		EventID: event.String("e1"), EventType: "MovieRating", EventValue: event.Float(4.5), ItemID: event.String("movie2"),
		Impression: []string{"movie1", "movie2"}, RecommendationID: event.String("r1"),
		MetricAttribution: &event.MetricAttribution{EventAttributionSource: "email"},
		Properties:        event.String(`{"numberOfRatings":"12","note":"<b>&</b>"}`), SentAt: 1714979289.123,
	}, {EventType: "Watch", SentAt: 1714979290}}
	db, tid := store(t, &event.Request{SessionID: "s1", UserID: event.String("u1"), EventList: events})

	var out bytes.Buffer
	n, err := export.Write(t.Context(), &out, db, server.EventFilter{TrackingID: tid}, "ndjson", nil)
	if err != nil || n != 2 {
		t.Fatalf("Write: %d, %v", n, err)
	}
	if strings.Contains(out.String(), `\u003c`) {
		t.Errorf("HTML in properties was escaped: %s", out.String())
	}
	sc := bufio.NewScanner(&out)
	var i int
	for ; sc.Scan(); i++ {
		line := sc.Bytes()
		got, err := event.DecodeEvent(line)
		if err != nil {
			t.Fatalf("line %d does not decode: %v\n%s", i, err, line)
		}
		want := events[i] // AssignEventIDs gave the second one a UUIDv7 eventId
		if got.EventID == nil || (want.EventID != nil && *got.EventID != *want.EventID) {
			t.Errorf("line %d eventId %v", i, got.EventID)
		}
		want.EventID = got.EventID
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("line %d round-trips as\n%+v, want\n%+v", i, *got, want)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("line %d: %v", i, err)
		}
		var env struct {
			TrackingID, SessionID string
			UserID                *string
			ReceivedAt            float64
			OccurredAt            float64
		}
		if err := json.Unmarshal(line, &env); err != nil {
			t.Fatal(err)
		}
		if env.TrackingID != tid || env.SessionID != "s1" || env.UserID == nil || *env.UserID != "u1" ||
			env.ReceivedAt != 1714979300 || env.OccurredAt != float64(want.SentAt) {
			t.Errorf("line %d envelope: %+v", i, env)
		}
	}
	if i != 2 {
		t.Errorf("%d lines, want 2", i)
	}
}

func TestUnknownFormat(t *testing.T) {
	db, tid := store(t)
	if _, err := export.Write(t.Context(), &bytes.Buffer{}, db, server.EventFilter{TrackingID: tid}, "xml", nil); err == nil ||
		!strings.Contains(err.Error(), "ndjson, csv") {
		t.Errorf("format xml: %v", err)
	}
}

// TestCSVDefusesFormulas: text a spreadsheet would run as a formula gets a
// leading apostrophe in the CSV meant for people, in every column that
// holds text a client sent; numbers stay numbers.
func TestCSVDefusesFormulas(t *testing.T) {
	tests := []struct{ sent, cell string }{
		{"=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"},
		{"+1+1", "'+1+1"},
		{"-1+1", "'-1+1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"a=1", "a=1"},
		{"'quoted", "'quoted"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.sent, func(t *testing.T) {
			props, _ := json.Marshal(map[string]any{"note": tt.sent, "score": -1, "itemId": tt.sent + "i"})
			db, tid := store(t, &event.Request{SessionID: tt.sent + "s", EventList: []event.Event{{
				EventType: tt.sent + "T", SentAt: 1714979290, EventValue: event.Float(-2), Properties: event.String(string(props)),
			}}})
			var out bytes.Buffer
			if _, err := export.Write(t.Context(), &out, db, server.EventFilter{TrackingID: tid}, "csv", nil); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(&out).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			defused := func(s string) string {
				if s == "" {
					return ""
				}
				return tt.cell[:len(tt.cell)-len(tt.sent)] + s
			}
			want := []string{defused(tt.sent + "s"), defused(tt.sent + "i"), "1714979290", defused(tt.sent + "T"), "-2", defused(tt.sent), "-1"}
			if len(tt.sent) == 0 {
				want = []string{"s", "i", "1714979290", "T", "-2", "", "-1"}
			}
			if !reflect.DeepEqual(rows[1], want) {
				t.Errorf("row %q, want %q", rows[1], want)
			}
		})
	}
}

// TestCSVCollidingKeys: keys that make the same column name (myUrl and
// myURL) share one column, filled from the key seen first, in every row
// and every run, not as Go's map order falls.
func TestCSVCollidingKeys(t *testing.T) {
	db, tid := store(t, &event.Request{SessionID: "s", EventList: []event.Event{
		{EventType: "A", SentAt: 1, Properties: event.String(`{"myUrl":"first"}`)},
		{EventType: "B", SentAt: 2, Properties: event.String(`{"myURL":"second","myUrl":"first"}`)},
		{EventType: "C", SentAt: 3, Properties: event.String(`{"myURL":"second"}`)},
	}})
	for range 20 {
		var out bytes.Buffer
		if _, err := export.Write(t.Context(), &out, db, server.EventFilter{TrackingID: tid}, "csv", nil); err != nil {
			t.Fatal(err)
		}
		want := "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,MY_URL\ns,,1,A,,first\ns,,2,B,,first\ns,,3,C,,\n"
		if out.String() != want {
			t.Fatalf("export\n%s\nwant\n%s", out.String(), want)
		}
	}
}
