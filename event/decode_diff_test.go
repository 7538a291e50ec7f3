package event

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// decodeSeeds are bodies on the edges of what the decoder reads: member
// names matched without regard to case (Unicode folds included), escaped
// names, repeated members, nulls, invalid UTF-8, deep nesting and every
// kind of malformed JSON.
var decodeSeeds = []string{
	``, ` `, `{}`, `[]`, `null`, `"x"`, `hello`, `{"trackingId":`, `{"a":1}x`, `{"a":1} `, "\u00a0{\"a\":1}\u2028",
	`{"trackingId":"tk","sessionId":"s","eventList":[{"eventType":"a","sentAt":1}]}`,
	`{"TRACKINGID":"tk","SessionId":"s","EVENTLIST":[{"EVENTTYPE":"a","SENTAT":1}]}`,
	"{\"trac\u212aingId\":\"tk\",\"\u017fessionId\":\"s\"}",
	`{"tracking\u0049d":"tk","sessionId":"s\u00e9\ud800x","eventList":[]}`,
	`{"trackingId":"a","trackingId":null,"trackingid":"b"}`,
	`{"trackingId":"a","TrackingId":"b","trackingId":"c"}`,
	"{\"trackingId\":\"\xff\xfe\",\"userId\":\"a\xc3\"}",
	"{\"tr\xffackingId\":\"x\"}",
	`{"trackingId":5,"sessionId":true,"userId":{},"eventList":{}}`,
	`{"eventList":[1,null,"x",[],{}]}`,
	`{"eventList":[{"eventValue":"4.5","properties":{"a":"b"},"impression":["a",2,null],"metricAttribution":"x","sentAt":true}]}`,
	`{"eventList":[{"eventValue":1e400,"sentAt":1e400,"impression":{},"metricAttribution":{"EVENTATTRIBUTIONSOURCE":5}}]}`,
	`{"eventList":[{"eventValue":-0,"sentAt":"2024-05-06T07:08:09.123Z","impression":[],"metricAttribution":{}}]}`,
	`{"eventList":[{"sentAt":"2024-05-06","eventValue":0.5e-3,"eventId":"","itemId":null}]}`,
	`{"eventList":[{"sentAt":1714979289123,"eventValue":-12.5E+2}]}`,
	`{"eventList":[{"sentAt":"\u0032024-05-06T07:08:09Z"}]}`,
	`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":.5}`, `{"a":tru}`, `{"a":truex}`, `{"a":nul}`,
	`{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12G4"}`, "{\"a\":\"\x01\"}", `{"a" 1}`, `{"a":1,}`, `{,}`, `{"a":[1,]}`,
	`{"a":[1 2]}`, `{'a':1}`, `{"a":1`, `{"a":[`, `{"a":"`, `{"a":"\`, "{\"a\":1}\x00",
	"{\"a\":" + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + "}",
	"{\"a\":" + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "}",
	"{\"eventList\":[{\"properties\":" + strings.Repeat("{\"a\":", 9998) + "1" + strings.Repeat("}", 9998) + "}]}",
	"{\"eventList\":[{\"properties\":" + strings.Repeat("{\"a\":", 9999) + "1" + strings.Repeat("}", 9999) + "}]}",
	`{"trackingId":"\ud83d\ude00","sessionId":"\ud83dx","userId":"\ude00\ud83d","eventList":[{"eventType":"\ud83d\u0041\ud83d"}]}`,
	`{"trackingId":"a\"b\\\/\b\f\n\r\t\u00e9\u00E9","eventList":[{"properties":"{\"a\":\"\\u00e9\"}","impression":["\ud800\ud800"]}]}`,
	"{\"trackingId\":\"\\n\xff\xc3\xa9\xe2\x82\",\"sessionId\":\"\\u0000\"}",
	"\t\n\r {\"trackingId\" \n:\t\"t\" , \"eventList\" : [ { \"sentAt\" : 1 } ] }\r\n",
	// sentAt on its own, for ParseTimestamp, and strings that are not text.
	`1714979289.123`, ` 1714979289123 `, `-0`, `1e400`, `"2024-05-06T07:08:09.123Z"`, `"\u0032024-05-06T07:08:09Z"`,
	`"2024-05-06"`, `"\ud800"`, "\"\xff\"", `true`, "{\"eventList\":[{\"sentAt\":\"\\ud800\"},{\"sentAt\":\"\xff\"}]}",
}

// FuzzDecodeDifferential holds DecodeRequest and DecodeEvent to exactly the
// results and messages of the decoder they replaced.
//
//	go test ./event -run '^$' -fuzz FuzzDecodeDifferential -fuzztime 1m
func FuzzDecodeDifferential(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareDecoders(t, data)
	})
}

func TestDecodeMatchesLegacy(t *testing.T) {
	for i, s := range decodeSeeds {
		t.Run(fmt.Sprint(i), func(t *testing.T) { compareDecoders(t, []byte(s)) })
	}
	// Every prefix of a full request: each way of being cut short.
	full := `{"trackingId":"tk_1","sessionId":"s1","userId":"u1","x":[1,{"y":null}],"eventList":[{"eventId":"e1",` +
		`"eventType":"MovieRating","eventValue":4.5,"itemId":"m2","impression":["m1","m2"],"recommendationId":"r1",` +
		`"metricAttribution":{"eventAttributionSource":"email"},"properties":"{\"numberOfRatings\":\"12\"}",` +
		`"sentAt":1714979289.123,"somethingNew":{"x":1}},{"eventType":"Watch","sentAt":"2024-05-06T07:08:09Z"}]}`
	for n := range len(full) + 1 {
		compareDecoders(t, []byte(full[:n]))
	}
}

func compareDecoders(t *testing.T, data []byte) {
	t.Helper()
	got, err := DecodeRequest(data)
	want, wantErr := legacyDecodeRequest(data)
	if !sameError(err, wantErr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeRequest(%q):\n got  %+v, %v\n want %+v, %v", data, got, err, want, wantErr)
	}
	gotE, err := DecodeEvent(data)
	wantE, wantErr := legacyDecodeEvent(data)
	if !sameError(err, wantErr) || !reflect.DeepEqual(gotE, wantE) {
		t.Fatalf("DecodeEvent(%q):\n got  %+v, %v\n want %+v, %v", data, gotE, err, wantE, wantErr)
	}
	// The decoder reads sentAt with the scanner's unquoting (checked);
	// ParseTimestamp with encoding/json, as the legacy decoder did.
	if len(data) < 100 && json.Valid(data) {
		ts, err := parseTimestamp(data, true)
		wantTS, wantErr := ParseTimestamp(data)
		if !sameError(err, wantErr) || ts != wantTS && !(ts != ts && wantTS != wantTS) {
			t.Fatalf("parseTimestamp(%q, checked): got %v, %v; want %v, %v", data, ts, err, wantTS, wantErr)
		}
	}
}

func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Error() == b.Error()
}

// benchBody is a request as the load generator sends it: ten events.
func benchBody() []byte {
	var b strings.Builder
	b.WriteString(`{"trackingId":"tk_abcdefghijklmnopqrst","sessionId":"c1","userId":"u1","eventList":[`)
	for k := range 10 {
		if k > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventId":"c1-1-%d","eventType":"MovieRating","itemId":"movie%d","eventValue":4.5,"sentAt":1714979289.123,"properties":"{\"numberOfRatings\":\"12\"}"}`, k, k)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

func BenchmarkDecodeRequest(b *testing.B) {
	body := benchBody()
	for _, d := range []struct {
		name string
		fn   func([]byte) (*Request, error)
	}{{"onepass", DecodeRequest}, {"legacy", legacyDecodeRequest}} {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := d.fn(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkValidate(b *testing.B) {
	r, err := DecodeRequest(benchBody())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

var propertiesSeeds = []string{
	``, `{}`, ` { } `, `{"a":"b"}`, `{"numberOfRatings":"12","x1":-1.5e3,"ok":true,"no":false}`, `{"a":null}`,
	`{"a":{}}`, `{"a":[]}`, `{"a":1,"a":2}`, `{"A":1}`, `{"a_b":1}`, `{"\u0061":1}`, `{"a":"\u00e9\""}`, `{"a":1}x`,
	`{"a":1} {}`, `{"a":1,}`, `{"a" 1}`, `{"a":01}`, `{"a":tru}`, `{"a":1`, `[1]`, `"x"`, "{\"a\":\"\xff\"}", "\u00a0{}",
	`{"a":"b"}` + "\n", "\t{\"a\":1}\r",
}

// FuzzPropertiesQuick holds quickPropertiesValid to checkProperties' token
// reading: it may say "look closer" for a valid string, never "valid" for
// an invalid one.
//
//	go test ./event -run '^$' -fuzz FuzzPropertiesQuick -fuzztime 30s
func FuzzPropertiesQuick(f *testing.F) {
	for _, s := range propertiesSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { comparePropertiesCheck(t, s) })
}

func TestPropertiesQuickMatchesTokens(t *testing.T) {
	for _, s := range propertiesSeeds {
		comparePropertiesCheck(t, s)
	}
	for _, s := range []string{`{}`, `{"a":"b"}`, `{"numberOfRatings":"12","x1":-1.5e3,"ok":true,"no":false}`, " {\"a\":1}\n"} {
		if !quickPropertiesValid(s) {
			t.Errorf("%q: the quick check does not see that it is valid", s)
		}
	}
}

func comparePropertiesCheck(t *testing.T, s string) {
	t.Helper()
	if !quickPropertiesValid(s) {
		return
	}
	if rule := checkProperties(s, map[string]any{}); rule != "" { // a map: the token path
		t.Fatalf("%q: quick check says valid, tokens say %s", s, rule)
	}
}
