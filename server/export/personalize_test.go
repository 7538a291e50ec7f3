package export_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/export"
)

// seq yields events as a store would, without one: WritePersonalize reads
// any iterator.
func seq(events ...*server.StoredEvent) iter.Seq2[*server.StoredEvent, error] {
	return func(yield func(*server.StoredEvent, error) bool) {
		for _, e := range events {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// interaction is a stored event with an itemId, for the tests to vary.
func interaction(user, item string, props string) *server.StoredEvent {
	e := &server.StoredEvent{SessionID: "s-" + user, Event: event.Event{EventType: "View", SentAt: 1714979289.5}}
	if user != "" {
		e.UserID = event.String(user)
	}
	if item != "" {
		e.ItemID = event.String(item)
	}
	if props != "" {
		e.Properties = event.String(props)
	}
	return e
}

func writePersonalize(t *testing.T, events iter.Seq2[*server.StoredEvent, error], opts export.PersonalizeOptions) ([][]string, *export.PersonalizeResult) {
	t.Helper()
	var out bytes.Buffer
	res, err := export.WritePersonalize(t.Context(), &out, events, opts)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	checkSchemaMatchesCSV(t, res.Schema, rows)
	return rows, res
}

// TestPersonalizeColumnByColumn stores hostile and ordinary events in a
// real SQLite file and checks every cell of the export, what it left out
// and the schema.
func TestPersonalizeColumnByColumn(t *testing.T) {
	big := make([]string, 25)
	for i := range big {
		big[i] = fmt.Sprintf("%03d", i) + strings.Repeat("x", 253) // 256 characters each
	}
	db, tid := store(t,
		&event.Request{SessionID: "sess1", UserID: event.String("user1"), EventList: []event.Event{{
			EventType: "MovieRating", ItemID: event.String("movie1"), EventValue: event.Float(4.5), SentAt: 1714979289.999,
			RecommendationID: event.String("rec-1"), Impression: []string{"movie1", "movie2"},
			Properties: event.String(`{"numberOfRatings":12,"genre":"drama, \"noir\"","myUrl":"/a","myURL":"/b","itemId":"ignored"}`),
		}, {
			// Older events carry itemId and eventValue in properties.
			EventType: "View", SentAt: 1714979290, Properties: event.String(`{"itemId":"movie2","eventValue":3}`),
		}, {
			// No itemId at all: left out and counted.
			EventType: "Impression", SentAt: 1714979291, Impression: []string{"movie3"},
		}, {
			EventType: "Impression", SentAt: 1714979292, Impression: []string{"movie4"},
		}, {
			// Stored before eventValue was held to a 32-bit float.
			EventType: "Watch", ItemID: event.String("=HYPERLINK(\"x\")"), EventValue: event.Float(1e39), SentAt: 1714979293,
			Impression: append([]string{"a|b"}, big...),
			Properties: event.String(`{"genre":"` + strings.Repeat("g", 1001) + `"}`),
		}}},
		// Without a userId, USER_ID is the sessionId.
		&event.Request{SessionID: "anon-session", EventList: []event.Event{{EventType: "Watch", SentAt: 1714979294.2, ItemID: event.String("m3"),
			Properties: event.String(`{"genre":"` + strings.Repeat("g", 1000) + `"}`)}}},
	)
	var progress []int64
	cols, err := export.ParseColumns("genre,numberOfRatings,myUrl")
	if err != nil {
		t.Fatal(err)
	}
	rows, res := writePersonalize(t, db.Events(t.Context(), server.EventFilter{TrackingID: tid}),
		export.PersonalizeOptions{Columns: cols, Progress: func(n int64) { progress = append(progress, n) }})

	impression := strings.Join(big[:3], "|") // 3×256+2 = 770; a fourth would pass 1000
	want := [][]string{
		{"USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE", "IMPRESSION", "RECOMMENDATION_ID", "GENRE", "NUMBER_OF_RATINGS", "MY_URL"},
		{"user1", "movie1", "1714979289", "MovieRating", "4.5", "movie1|movie2", "rec-1", `drama, "noir"`, "12", "/a"},
		{"user1", "movie2", "1714979290", "View", "3", "", "", "", "", ""},
		{"user1", `=HYPERLINK("x")`, "1714979293", "Watch", "", impression, "", "", "", ""},
		{"anon-session", "m3", "1714979294", "Watch", "", "", "", strings.Repeat("g", 1000), "", ""},
	}
	if !reflect.DeepEqual(rows, want) {
		for i := range max(len(rows), len(want)) {
			if i >= len(rows) || i >= len(want) || !reflect.DeepEqual(rows[i], want[i]) {
				t.Errorf("row %d:\n got  %.300q\n want %.300q", i, get2(rows, i), get2(want, i))
			}
		}
	}
	if res.Rows != 4 || !reflect.DeepEqual(progress, []int64{1, 2, 3, 4}) {
		t.Errorf("Rows %d, progress %v", res.Rows, progress)
	}
	if want := map[string]int64{"Impression": 2}; !reflect.DeepEqual(res.WithoutItemID, want) {
		t.Errorf("WithoutItemID %v, want %v", res.WithoutItemID, want)
	}
	// EVENT_VALUE 1e39; IMPRESSION "a|b" and the 22 items past 1000
	// characters; the 1001-character genre.
	if want := map[string]int64{"EVENT_VALUE": 1, "IMPRESSION": 23, "GENRE": 1}; !reflect.DeepEqual(res.LeftOut, want) {
		t.Errorf("LeftOut %v, want %v", res.LeftOut, want)
	}
	var s struct {
		Type, Name, Namespace, Version string
		Fields                         []map[string]any
	}
	if err := json.Unmarshal(res.Schema, &s); err != nil {
		t.Fatal(err)
	}
	if s.Type != "record" || s.Name != "Interactions" || s.Namespace != "com.amazonaws.personalize.schema" || s.Version != "1.0" {
		t.Errorf("schema header %+v", s)
	}
	wantFields := []string{
		`{"name":"USER_ID","type":"string"}`, `{"name":"ITEM_ID","type":"string"}`, `{"name":"TIMESTAMP","type":"long"}`,
		`{"name":"EVENT_TYPE","type":"string"}`, `{"name":"EVENT_VALUE","type":["null","float"]}`,
		`{"name":"IMPRESSION","type":["null","string"]}`, `{"name":"RECOMMENDATION_ID","type":["null","string"]}`,
		`{"categorical":true,"name":"GENRE","type":["null","string"]}`, `{"name":"NUMBER_OF_RATINGS","type":["null","int"]}`,
		`{"categorical":true,"name":"MY_URL","type":["null","string"]}`,
	}
	for i, f := range s.Fields {
		got, _ := json.Marshal(f)
		if i >= len(wantFields) || string(got) != wantFields[i] {
			t.Errorf("field %d: %s, want %s", i, got, get(wantFields, i))
		}
	}
	if len(s.Fields) != len(wantFields) {
		t.Errorf("%d fields, want %d", len(s.Fields), len(wantFields))
	}
}

func get2(rows [][]string, i int) []string {
	if i < len(rows) {
		return rows[i]
	}
	return nil
}

// TestPersonalizeColumnTypes: each column's type is inferred from its
// values, or given and enforced; a column is nullable exactly when some
// row has no value in it.
func TestPersonalizeColumnTypes(t *testing.T) {
	tests := []struct {
		name   string
		column string
		values []string // JSON values; "" = the key is absent
		cells  []string
		want   string // the schema field's type
	}{
		{"integers", "n", []string{"1", "-2147483648", "2147483647"}, []string{"1", "-2147483648", "2147483647"}, `"int"`},
		{"beyond int32", "n", []string{"1", "2147483648"}, []string{"1", "2147483648"}, `"long"`},
		{"fractions", "n", []string{"1", "2.5", "1e3"}, []string{"1", "2.5", "1e3"}, `"double"`},
		{"beyond int64", "n", []string{"9223372036854775808"}, []string{"9223372036854775808"}, `"double"`},
		{"beyond a double", "n", []string{"1", "1e400"}, []string{"1", ""}, `["null","int"]`},
		{"booleans", "n", []string{"true", "false"}, []string{"true", "false"}, `"boolean"`},
		{"strings", "n", []string{`"a"`, `"b"`}, []string{"a", "b"}, `"string"`},
		{"strings and numbers", "n", []string{`"a"`, "1"}, []string{"a", "1"}, `"string"`},
		{"booleans and numbers", "n", []string{"true", "1"}, []string{"true", "1"}, `"string"`},
		{"some missing", "n", []string{"1", ""}, []string{"1", ""}, `["null","int"]`},
		{"never present", "n", []string{"", ""}, []string{"", ""}, `["null","string"]`},
		{"given int takes numeric strings", "n:int", []string{`"12"`, "13", "2.5", `"x"`, "2147483648"}, []string{"12", "13", "", "", ""}, `["null","int"]`},
		{"given long", "n:long", []string{"2147483648", "-9223372036854775808"}, []string{"2147483648", "-9223372036854775808"}, `"long"`},
		{"given float stays within a float", "n:float", []string{"1.5", "3.4028234663852886e38", "1e39"}, []string{"1.5", "3.4028234663852886e+38", ""}, `["null","float"]`},
		{"given double", "n:double", []string{"1e39", `"2"`, "true"}, []string{"1e+39", "2", ""}, `["null","double"]`},
		{"given boolean", "n:boolean", []string{"true", `"false"`, `"yes"`, "1"}, []string{"true", "false", "", ""}, `["null","boolean"]`},
		{"given string", "n:string", []string{"1", "true", `"x"`}, []string{"1", "true", "x"}, `"string"`},
		{"categorical at 1000", "n", []string{`"` + strings.Repeat("é", 1000) + `"`}, []string{strings.Repeat("é", 1000)}, `"string"`},
		{"categorical over 1000", "n", []string{`"` + strings.Repeat("é", 1001) + `"`, `"a"`}, []string{"", "a"}, `["null","string"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var events []*server.StoredEvent
			for i, v := range tt.values {
				props := "{}"
				if v != "" {
					props = `{"n":` + v + `}`
				}
				events = append(events, interaction("u", "item"+strconv.Itoa(i), props))
			}
			cols, err := export.ParseColumns(tt.column)
			if err != nil {
				t.Fatal(err)
			}
			rows, res := writePersonalize(t, seq(events...), export.PersonalizeOptions{Columns: cols})
			var cells []string
			for _, r := range rows[1:] {
				cells = append(cells, r[len(r)-1])
			}
			if !reflect.DeepEqual(cells, tt.cells) {
				t.Errorf("cells %q, want %q", cells, tt.cells)
			}
			var s struct {
				Fields []struct{ Type json.RawMessage }
			}
			json.Unmarshal(res.Schema, &s)
			var got bytes.Buffer
			json.Compact(&got, s.Fields[len(s.Fields)-1].Type)
			if got.String() != tt.want {
				t.Errorf("type %s, want %s", &got, tt.want)
			}
		})
	}
}

// TestPersonalizeBoundedByHostileData: a visitor inventing a new event
// type and property key per event grows neither the columns nor the
// counts kept.
func TestPersonalizeBoundedByHostileData(t *testing.T) {
	const n = 5000
	events := make([]*server.StoredEvent, 0, 2*n)
	for i := range n {
		e := interaction("u", "", fmt.Sprintf(`{"key%d":"v","myUrl%d":1,"myURL%d":2}`, i, i, i))
		e.EventType = fmt.Sprint("T", i)
		events = append(events, e, interaction(fmt.Sprint("user", i), "item", fmt.Sprintf(`{"key%d":"v"}`, i)))
	}
	rows, res := writePersonalize(t, seq(events...), export.PersonalizeOptions{})
	if len(rows) != n+1 || len(rows[0]) != 7 {
		t.Fatalf("%d rows of %d columns, want %d of 7", len(rows), len(rows[0]), n+1)
	}
	var total int64
	for _, c := range res.WithoutItemID {
		total += c
	}
	if len(res.WithoutItemID) != 101 || res.WithoutItemID[export.OtherEventTypes] != n-100 || total != n {
		t.Errorf("WithoutItemID names %d types, %d others, %d in all", len(res.WithoutItemID), res.WithoutItemID[export.OtherEventTypes], total)
	}
}

// TestPersonalizeWarnings checks each training minimum at its edge.
func TestPersonalizeWarnings(t *testing.T) {
	// events returns n interactions by users users (round robin) of types
	// eventTypes.
	events := func(n, users, eventTypes int) []*server.StoredEvent {
		out := make([]*server.StoredEvent, n)
		for i := range out {
			out[i] = interaction(fmt.Sprint("u", i%users), fmt.Sprint("item", i), "")
			out[i].EventType = fmt.Sprint("T", i%eventTypes)
		}
		return out
	}
	few := "999 interactions: Personalize needs at least 1000 to train (and a dataset import job at least 1000 records)"
	tests := []struct {
		name    string
		events  []*server.StoredEvent
		columns string
		want    []string
	}{
		{"enough", events(1000, 25, 1), "", nil},
		{"999 interactions", events(999, 25, 1), "", []string{few}},
		{"24 users repeat", append(events(998, 24, 1), events(2, 2, 1)[0], interaction("single", "i", "")), "",
			[]string{"24 users with 2 or more interactions: Personalize needs at least 25 to train"}},
		{"8 types and 2 fields", events(1000, 25, 8), "", nil},
		{"9 types and 2 fields", events(1000, 25, 9), "",
			[]string{"9 event types and 2 metadata fields (EVENT_TYPE, EVENT_VALUE and 0 columns): Personalize allows at most 10 together; export fewer event types or columns"}},
		{"7 types and 3 fields", events(1000, 25, 7), "genre", nil},
		{"8 types and 3 fields", events(1000, 25, 8), "genre",
			[]string{"8 event types and 3 metadata fields (EVENT_TYPE, EVENT_VALUE and 1 columns): Personalize allows at most 10 together; export fewer event types or columns"}},
		{"many types", events(1000, 25, 50), "",
			[]string{"more than 10 event types and 2 metadata fields (EVENT_TYPE, EVENT_VALUE and 0 columns): Personalize allows at most 10 together; export fewer event types or columns"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cols, _ := export.ParseColumns(tt.columns)
			_, res := writePersonalize(t, seq(tt.events...), export.PersonalizeOptions{Columns: cols})
			if !reflect.DeepEqual(res.Warnings, tt.want) {
				t.Errorf("warnings\n  %q\nwant\n  %q", res.Warnings, tt.want)
			}
		})
	}
	// The minimums hold for each tracker (site) on its own.
	shop, blog := events(1000, 25, 1), events(5, 5, 1)
	for _, e := range shop {
		e.TrackingID = "tk_shop"
	}
	for _, e := range blog {
		e.TrackingID = "tk_blog"
	}
	_, res := writePersonalize(t, seq(append(blog, shop...)...), export.PersonalizeOptions{})
	if want := []string{
		`trackingId "tk_blog": 5 interactions: Personalize needs at least 1000 to train (and a dataset import job at least 1000 records)`,
		`trackingId "tk_blog": 0 users with 2 or more interactions: Personalize needs at least 25 to train`,
	}; !reflect.DeepEqual(res.Warnings, want) {
		t.Errorf("two trackers: warnings\n  %q\nwant\n  %q", res.Warnings, want)
	}

	// Exporting fewer event types is the way out, and counts the rest.
	_, res = writePersonalize(t, seq(events(5000, 25, 9)...), export.PersonalizeOptions{EventTypes: []string{"T0", "T1"}})
	if res.Warnings != nil || res.OtherTypes != 5000-1112 || res.Rows != 1112 { // 556 of each of the two
		t.Errorf("two types of nine: %d rows, %d others, warnings %q", res.Rows, res.OtherTypes, res.Warnings)
	}
}

// checkSchemaMatchesCSV parses the schema as Avro and encodes every row
// of the CSV with it: each header is a field in order, every cell has the
// field's type, and empty cells appear only where the field is nullable.
func checkSchemaMatchesCSV(t *testing.T, schemaJSON []byte, rows [][]string) {
	t.Helper()
	sch, err := avro.Parse(string(schemaJSON))
	if err != nil {
		t.Fatalf("schema is not valid Avro: %v\n%s", err, schemaJSON)
	}
	rec, ok := sch.(*avro.RecordSchema)
	if !ok || len(rows) == 0 || len(rec.Fields()) != len(rows[0]) {
		t.Fatalf("schema %s does not match header %q", schemaJSON, get2(rows, 0))
	}
	for i, f := range rec.Fields() {
		if f.Name() != rows[0][i] {
			t.Errorf("field %d is %s, header %s", i, f.Name(), rows[0][i])
		}
	}
	for r, row := range rows[1:] {
		values := map[string]any{}
		for i, f := range rec.Fields() {
			v, err := avroValue(f.Type(), row[i])
			if err != nil {
				t.Fatalf("row %d %s %q: %v", r+1, f.Name(), row[i], err)
			}
			values[f.Name()] = v
		}
		if _, err := avro.Marshal(sch, values); err != nil {
			t.Fatalf("row %d does not fit the schema: %v\n%q", r+1, err, row)
		}
	}
}

// avroValue reads cell as a value of type s, nil for an empty cell of a
// nullable field.
func avroValue(s avro.Schema, cell string) (any, error) {
	if u, ok := s.(*avro.UnionSchema); ok {
		if cell == "" {
			return nil, nil
		}
		for _, t := range u.Types() {
			if t.Type() != avro.Null {
				s = t
			}
		}
	}
	var (
		v   any
		err error
	)
	switch s.Type() {
	case avro.String:
		if cell == "" {
			err = fmt.Errorf("empty in a field that is not nullable")
		}
		v = cell
	case avro.Int:
		var n int64
		n, err = strconv.ParseInt(cell, 10, 32)
		v = int32(n)
	case avro.Long:
		v, err = strconv.ParseInt(cell, 10, 64)
	case avro.Float:
		var f float64
		f, err = strconv.ParseFloat(cell, 32)
		v = float32(f)
	case avro.Double:
		var f float64
		f, err = strconv.ParseFloat(cell, 64)
		if math.IsInf(f, 0) {
			err = fmt.Errorf("infinite")
		}
		v = f
	case avro.Boolean:
		if cell != "true" && cell != "false" {
			err = fmt.Errorf("not a boolean")
		}
		v = cell == "true"
	default:
		err = fmt.Errorf("type %s is not one Personalize takes", s.Type())
	}
	return v, err
}
