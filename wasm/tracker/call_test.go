package tracker

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Each argument, plain or described as the loader describes what JSON
// cannot carry, is read as the JavaScript value itself would be.
func TestDecodeCallsReadsEachArgument(t *testing.T) {
	for _, tt := range []struct {
		args string // eventType, properties, options as the loader writes them
		want Call   // Err as its text
		err  string
	}{
		{args: `"View", {"page": "/a", "n": 1, "ok": true}, null`,
			want: Call{EventType: "View", Properties: map[string]any{"page": "/a", "n": 1.0, "ok": true}}},
		{args: `{"\u0000": "undefined"}, {"\u0000": "undefined"}, {"\u0000": "undefined"}`},
		{args: `"E", {"a": {"\u0000": "number", "v": "-0"}, "b": {"\u0000": "undefined"}, "c": [1]}, null`,
			want: Call{EventType: "E", Properties: map[string]any{"a": math.Copysign(0, -1), "b": nil, "c": nil}}},
		{args: `"E", {"\u0000": "date", "ms": 5}, {"\u0000": "date", "ms": 5}`, want: Call{EventType: "E"}},
		{args: `"E", {"\u0000": "object", "own": {"k": "v"}}, {"\u0000": "object", "own": {"itemId": "i"}}`,
			want: Call{EventType: "E", Properties: map[string]any{"k": "v"}, Options: Options{ItemID: ptr("i")}}},
		{args: `"E", null, {"eventId": "e", "itemId": null, "eventValue": 2.5, "impression": ["a", "b"],
			"recommendationId": "r", "metricAttribution": "m", "sentAt": {"\u0000": "date", "ms": 1714979289123}}`,
			want: Call{EventType: "E", Options: Options{EventID: ptr("e"), EventValue: ptr(2.5), Impression: []string{"a", "b"},
				RecommendationID: ptr("r"), MetricAttribution: ptr("m"), SentAt: time.UnixMilli(1714979289123)}}},
		{args: `"E", null, []`, want: Call{EventType: "E"}},

		{args: `42, null, null`, err: "eventType: must be a string"},
		{args: `{"\u0000": "symbol"}, null, null`, err: "eventType: must be a string"},
		{args: `"E", "x", null`, err: "properties: must be an object"},
		{args: `"E", ["a"], null`, err: "properties: must be an object"},
		{args: `"E", {"\u0000": "function"}, null`, err: "properties: must be an object"},
		{args: `"E", null, "x"`, err: "options: must be an object"},
		{args: `"E", null, {"\u0000": "function"}`, err: "options: must be an object"},
		{args: `"E", null, ["a"]`, err: "options.0: unknown option (known: eventId, itemId, eventValue, impression, recommendationId, metricAttribution, sentAt)"},
		{args: `"E", null, {"zeta": 1, "typo": 1, "itemId": 7}`, err: "options.typo: unknown option"},
		{args: `"E", null, {"toString": {"\u0000": "undefined"}}`, err: "options.toString: unknown option"},
		{args: `"E", null, {"itemId": 7}`, err: "itemId: must be a string"},
		{args: `"E", null, {"eventValue": {"\u0000": "date", "ms": 1}}`, err: "eventValue: must be a number"},
		{args: `"E", null, {"impression": {"\u0000": "object", "own": {}}}`, err: "impression: must be an array of item ids"},
		{args: `"E", null, {"impression": ["a", {"\u0000": "object"}]}`, err: "impression[1]: must be a string"},
		{args: `"E", null, {"sentAt": {"\u0000": "number", "v": "Infinity"}}`, err: "sentAt: not a finite number (an invalid Date?)"},
		{args: `"E", null, {"sentAt": {}}`, err: "sentAt: must be a Date or a number of milliseconds since 1970"},
		// One broken rule is reported, the kinds in the order readOptions
		// always checked them: numbers, lists, strings, times.
		{args: `"E", null, {"sentAt": "x", "eventId": 1, "impression": 1, "eventValue": "x"}`, err: "eventValue: must be a number"},
		{args: `"E", null, {"sentAt": "x", "eventId": 1, "impression": 1}`, err: "impression: must be an array of item ids"},
		{args: `"E", null, {"sentAt": "x", "metricAttribution": 1, "eventId": 1}`, err: "eventId: must be a string"},
	} {
		calls, err := DecodeCalls("[[" + tt.args + ", null]]")
		if err != nil {
			t.Fatalf("DecodeCalls(%s): %v", tt.args, err)
		}
		got := calls[0]
		switch {
		case tt.err != "" && (got.Err == nil || !strings.HasPrefix(got.Err.Error(), tt.err)):
			t.Errorf("DecodeCalls(%s): error %v, want %q", tt.args, got.Err, tt.err)
		case tt.err == "" && got.Err != nil:
			t.Errorf("DecodeCalls(%s): %v", tt.args, got.Err)
		case tt.err == "" && !reflect.DeepEqual(got, tt.want):
			t.Errorf("DecodeCalls(%s) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
	if got, _ := DecodeCalls(`[["E", {"a": {"\u0000": "number", "v": "-0"}}, null, null]]`); !math.Signbit(got[0].Properties["a"].(float64)) {
		t.Error("-0 lost its sign")
	}
}

func ptr[T any](v T) *T { return &v }

// t is each call's default sentAt; null leaves it to the clock.
func TestDecodeCallsTimes(t *testing.T) {
	calls, err := DecodeCalls(`[["A", null, null, 1714979000000], ["B", null, {"sentAt": 1714979289123}, 1714979000000], ["C", null, null, null]]`)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Time{time.UnixMilli(1714979000000), time.UnixMilli(1714979289123), {}} {
		if got := calls[i].Options.SentAt; !got.Equal(want) {
			t.Errorf("call %d: sentAt %v, want %v", i, got, want)
		}
	}
	for _, batch := range []string{``, `not json`, `{}`, `[["A", null, null, "now"]]`, `[{"a": 1}]`} {
		if _, err := DecodeCalls(batch); err != ErrNotCalls {
			t.Errorf("DecodeCalls(%s): %v, want ErrNotCalls", batch, err)
		}
	}
}

// The option table names each field of Options once.
func TestOptionListCoversOptions(t *testing.T) {
	var o Options
	fields := map[any]string{}
	for _, opt := range OptionList {
		p := reflect.ValueOf(opt.Field(&o)).Pointer()
		if other, dup := fields[p]; dup {
			t.Errorf("options %s and %s set the same field", other, opt.Name)
		}
		fields[p] = opt.Name
	}
	if n := reflect.TypeOf(o).NumField(); len(fields) != n {
		t.Errorf("OptionList sets %d fields of Options' %d", len(fields), n)
	}
}

// decodeBatch must give what json.Unmarshal gives, or decline.
func TestDecodeBatchMatchesEncodingJSON(t *testing.T) {
	check := func(s string, mustDecode bool) {
		t.Helper()
		got, ok := decodeBatch(s)
		var want [][4]any
		err := json.Unmarshal([]byte(s), &want)
		switch {
		case !ok && mustDecode:
			t.Errorf("decodeBatch(%s) declined", s)
		case ok && err != nil:
			t.Errorf("decodeBatch(%s) = %v, but encoding/json fails: %v", s, got, err)
		case ok && !reflect.DeepEqual(got, want):
			t.Errorf("decodeBatch(%s) = %#v, encoding/json %#v", s, got, want)
		}
	}
	for _, s := range []string{
		`[]`, ` [ ] `, `[["View",{"page":"/a","n":1,"ok":true},{"itemId":"i1","eventValue":2.5,"impression":["i1","i2"],"eventId":"mine","sentAt":1714979289123},1714979000000]]`,
		`[["Plain",null,null,1714979000000],[null,{},{"impression":[]},-0]]`,
		"[\n [\"a\" , { \"k\" : false } , null , 1e3 ] ,[\"b\",null,{\"x\":null},0.5E-2]\n]",
		`[["a",{"k":1,"k":"two"},null,1]]`, `[["é 漢字 🎉",{"p":"<b>&</b>"},null,12.5]]`,
		`[[{"\u0000":"undefined"},{"a":{"\u0000":"number","v":"NaN"}},null,1]]`,
	} {
		check(s, true)
	}
	for _, s := range []string{
		``, `null`, `[`, `[[]]`, `[["a",null,null]]`, `[["a",null,null,1,2]]`, `[["a\n",null,null,1]]`,
		"[[\"bad \xff\",null,null,1]]", `[["a",null,null,01]]`, `[["a",null,null,1.]]`, `[["a",null,null,1e]]`,
		`[["a",null,null,1e999]]`, `[["a",null,null,+1]]`, `[["a",null,null,1]] x`, `[["a",nul,null,1]]`,
		`[["a",{"k" 1},null,1]]`, `[["a",{"k":1,},null,1]]`, `[["a",null,null,1],]`, `[["a",null,null,1]`, `[{"a":1}]`,
	} {
		check(s, false)
	}

	// Random batches in and around the loader's form.
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{`"a"`, `"é"`, `"<&>"`, `"a\"b"`, `""`, `0`, `-1.5`, `3e2`, `1714979000000`, `true`, `false`, `null`, `[]`, `["x","y"]`, `{}`, `{"k":"v"}`, `{"k":[1,"z"]}`, `[{"k":1}]`, `{"\u0000":"function"}`}
	for range 3000 {
		var b strings.Builder
		b.WriteString("[")
		for c := range rng.IntN(4) {
			if c > 0 {
				b.WriteString(",")
			}
			b.WriteString("[")
			for m := range 3 + rng.IntN(3) {
				if m > 0 {
					b.WriteString(",")
				}
				if rng.IntN(3) == 0 {
					b.WriteString(`{"p":` + pieces[rng.IntN(len(pieces))] + `,"q":` + pieces[rng.IntN(len(pieces))] + `}`)
				} else {
					b.WriteString(pieces[rng.IntN(len(pieces))])
				}
			}
			b.WriteString("]")
		}
		b.WriteString("]")
		check(b.String(), false)
	}
}

// BenchmarkDecodeCalls reads a batch of ten calls as the loader writes
// them: properties, options with an impression list, the call's time.
func BenchmarkDecodeCalls(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[")
	for k := range 10 {
		if k > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`["MovieRating",{"numberOfRatings":"12","genre":"drama","rating":4.5,"liked":true},` +
			`{"itemId":"movie1","eventValue":4.5,"impression":["movie1","movie2","movie3"]},1714979289123]`)
	}
	sb.WriteString("]")
	batch := sb.String()
	b.ReportAllocs()
	b.SetBytes(int64(len(batch)))
	for b.Loop() {
		if _, err := DecodeCalls(batch); err != nil {
			b.Fatal(err)
		}
	}
}
