package event

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeRequestAllMembers(t *testing.T) {
	body := `{
		"trackingId": "tk_1", "sessionId": "s1", "userId": "u1", "unknownTopLevel": [1,2],
		"eventList": [{
			"eventId": "e1", "eventType": "MovieRating", "eventValue": 4.5, "itemId": "movie2",
			"impression": ["movie1", "movie2"], "recommendationId": "r1",
			"metricAttribution": {"eventAttributionSource": "email"},
			"properties": "{\"numberOfRatings\":\"12\"}", "sentAt": 1714979289.123,
			"somethingNew": {"x": 1}
		}, {"eventType": "Watch", "sentAt": 1714979289}]
	}`
	got, err := DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := &Request{
		TrackingID: "tk_1", SessionID: "s1", UserID: String("u1"),
		EventList: []Event{{
			EventID: String("e1"), EventType: "MovieRating", EventValue: Float(4.5), ItemID: String("movie2"),
			Impression: []string{"movie1", "movie2"}, RecommendationID: String("r1"),
			MetricAttribution: &MetricAttribution{EventAttributionSource: "email"},
			Properties:        String(`{"numberOfRatings":"12"}`), SentAt: 1714979289.123,
		}, {EventType: "Watch", SentAt: 1714979289}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	r := validRequest()
	r.UserID = String("u")
	r.EventList[0].Properties = String(`{"a":"b"}`)
	r.EventList[0].Impression = []string{"x"}
	r.EventList[0].EventValue = Float(0)
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	// The wire form carries sentAt as seconds, properties as a string, and
	// omits unset members rather than writing null.
	for _, want := range []string{`"sentAt":1714979289.123`, `"properties":"{\"a\":\"b\"}"`, `"eventValue":0`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("wire form %s lacks %s", data, want)
		}
	}
	if strings.Contains(string(data), "null") {
		t.Errorf("wire form has a null: %s", data)
	}
	back, err := DecodeRequest(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, &r) {
		t.Fatalf("round trip changed the request:\n%+v\n%+v", back, &r)
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"empty body", ``, "body: empty; expected a JSON object"},
		{"not JSON", `{"trackingId":`, "body: not valid JSON (at byte 14)"},
		{"garbage", `hello`, "body: not valid JSON"},
		{"array body", `[1]`, "body: must be a JSON object"},
		{"trackingId number", `{"trackingId":5,"sessionId":"s","eventList":[]}`, "trackingId: must be a string"},
		{"eventList object", `{"trackingId":"t","sessionId":"s","eventList":{}}`, "eventList: must be an array"},
		{"event not object", `{"trackingId":"t","sessionId":"s","eventList":[1]}`, "eventList[0]: must be a JSON object"},
		{"eventValue string", `{"trackingId":"t","sessionId":"s","eventList":[{"eventType":"a","sentAt":1,"eventValue":"4.5"}]}`,
			"eventList[0].eventValue: must be a number"},
		{"properties object", `{"trackingId":"t","sessionId":"s","eventList":[{"eventType":"a","sentAt":1,"properties":{"a":"b"}}]}`,
			"eventList[0].properties: must be a string"},
		{"impression item number", `{"trackingId":"t","sessionId":"s","eventList":[{"eventType":"a","sentAt":1,"impression":["a",2]}]}`,
			"eventList[0].impression[1]: must be a string"},
		{"sentAt bool", `{"trackingId":"t","sessionId":"s","eventList":[{"eventType":"a","sentAt":true}]}`,
			"eventList[0].sentAt: must be a number of seconds or an RFC 3339 time"},
		{"sentAt bad string", `{"trackingId":"t","sessionId":"s","eventList":[{"eventType":"a","sentAt":"yesterday"}]}`,
			"eventList[0].sentAt: string is not an RFC 3339 time (e.g. 2024-05-06T07:08:09.123Z)"},
		{"metricAttribution string", `{"trackingId":"t","sessionId":"s","eventList":[{"eventType":"a","sentAt":1,"metricAttribution":"x"}]}`,
			"eventList[0].metricAttribution: must be a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tt.body))
			checkErr(t, err, tt.want)
		})
	}
}

// TestDecodeRefusesBrokenText: text that encoding/json would repair with
// U+FFFD is refused, naming the member, so that two different ids never
// collapse into one. Valid pairs, literal U+FFFD and its escape pass.
func TestDecodeRefusesBrokenText(t *testing.T) {
	// wrap puts a raw JSON string value (quotes included) into member.
	wrap := func(member, value string) string {
		switch member {
		case "trackingId", "sessionId", "userId":
			body := map[string]string{"trackingId": `"t"`, "sessionId": `"s"`, "userId": `"u"`}
			body[member] = value
			return `{"trackingId":` + body["trackingId"] + `,"sessionId":` + body["sessionId"] + `,"userId":` + body["userId"] +
				`,"eventList":[{"eventType":"a","sentAt":1}]}`
		case "impression":
			return `{"trackingId":"t","sessionId":"s","eventList":[{"eventType":"a","sentAt":1,"impression":["ok",` + value + `]}]}`
		case "eventAttributionSource":
			return `{"trackingId":"t","sessionId":"s","eventList":[{"eventType":"a","sentAt":1,"metricAttribution":{"eventAttributionSource":` + value + `}}]}`
		}
		return `{"trackingId":"t","sessionId":"s","eventList":[{"eventType":"a","sentAt":1,"` + member + `":` + value + `}]}`
	}
	fields := map[string]string{
		"trackingId": "trackingId", "sessionId": "sessionId", "userId": "userId",
		"eventId": "eventList[0].eventId", "eventType": "eventList[0].eventType", "itemId": "eventList[0].itemId",
		"recommendationId": "eventList[0].recommendationId", "impression": "eventList[0].impression[1]",
		"properties": "eventList[0].properties", "eventAttributionSource": "eventList[0].metricAttribution.eventAttributionSource",
	}
	broken := map[string]string{
		"invalid byte":             "\"a\xffb\"",
		"truncated sequence":       "\"a\xc3\"",
		"encoded surrogate":        "\"\xed\xa0\x80\"",
		"overlong encoding":        "\"\xc0\xaf\"",
		"lone high surrogate":      `"a\ud83d"`,
		"high then letter":         `"\ud83dx"`,
		"high then non-low escape": `"\ud83d\u0041"`,
		"two highs":                `"\ud800\ud800"`,
		"lone low surrogate":       `"\ude00"`,
		"pair reversed":            `"\ude00\ud83d"`,
		"high then escaped quote":  `"\ud83d\""`,
	}
	for member, path := range fields {
		for name, value := range broken {
			t.Run(member+"/"+name, func(t *testing.T) {
				_, err := DecodeRequest([]byte(wrap(member, value)))
				checkErr(t, err, path+": "+ruleNotText)
			})
		}
	}
	fine := map[string]string{
		"pair":            `"\ud83d\ude00"`,
		"pair upper case": `"\uD83D\uDE00"`,
		"literal U+FFFD":  "\"\xef\xbf\xbd\"",
		"escaped U+FFFD":  `"\ufffd"`,
		"4-byte UTF-8":    "\"\xf0\x9f\x98\x80\"",
	}
	for name, value := range fine {
		t.Run("eventId/"+name, func(t *testing.T) {
			r, err := DecodeRequest([]byte(wrap("eventId", value)))
			if err != nil {
				t.Fatal(err)
			}
			var want string
			json.Unmarshal([]byte(value), &want)
			if got := *r.EventList[0].EventID; got != want {
				t.Fatalf("eventId %q, want %q", got, want)
			}
		})
	}
}

func TestDecodeNullIsAbsent(t *testing.T) {
	r, err := DecodeRequest([]byte(`{"trackingId":"t","sessionId":"s","userId":null,"eventList":[{"eventType":"a","sentAt":1,"itemId":null}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.UserID != nil || r.EventList[0].ItemID != nil {
		t.Fatalf("null decoded as present: %+v", r)
	}
	// A missing sentAt decodes as zero and Validate names it.
	r, err = DecodeRequest([]byte(`{"trackingId":"t","sessionId":"s","eventList":[{"eventType":"a"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	checkErr(t, r.Validate(), "eventList[0].sentAt: missing or empty")
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want Timestamp
	}{
		{`1714979289`, 1714979289},
		{`1714979289.123`, 1714979289.123},
		{`1714979289.1234567`, 1714979289.123},
		{`1714979289123`, 1714979289.123},              // milliseconds
		{`99999999999`, 99999999999},                   // just under the threshold: seconds
		{`100000000000`, 100000000},                    // at the threshold: milliseconds
		{`"2024-05-06T07:08:09.123Z"`, 1714979289.123}, // RFC 3339
		{`"2024-05-06T09:08:09.123+02:00"`, 1714979289.123},
		{`"2024-05-06T07:08:09Z"`, 1714979289},
	}
	for _, tt := range tests {
		got, err := ParseTimestamp([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{`"1714979289"`, `null`, `{}`, `1e400`, `"2024-05-06"`, `NaN`} {
		if _, err := ParseTimestamp([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

func TestTimestampOf(t *testing.T) {
	tm := time.Date(2024, 5, 6, 7, 8, 9, 123_999_999, time.UTC)
	ts := TimestampOf(tm)
	if ts != 1714979289.123 {
		t.Fatalf("got %v", ts)
	}
	if !ts.Time().Equal(tm.Truncate(time.Millisecond)) {
		t.Fatalf("Time() = %v", ts.Time())
	}
	if ts.UnixMilli() != 1714979289123 {
		t.Fatalf("UnixMilli() = %d", ts.UnixMilli())
	}
	if _, err := json.Marshal(Event{EventType: "a", SentAt: Timestamp(nan())}); err == nil {
		t.Fatal("NaN sentAt marshalled")
	}
}

func nan() float64 { return math.NaN() }
