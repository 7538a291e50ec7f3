package event

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// validEvent returns an event that passes every rule, for tests to break
// one rule at a time.
func validEvent() Event {
	return Event{
		EventID:   String("e1"),
		EventType: "MovieRating",
		ItemID:    String("movie2"),
		SentAt:    1714979289.123,
	}
}

func validRequest() Request {
	return Request{TrackingID: "tk_1", SessionID: "s1", EventList: []Event{validEvent()}}
}

func events(n int) []Event {
	out := make([]Event, n)
	for i := range out {
		out[i] = validEvent()
	}
	return out
}

func TestRequestValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name   string
		modify func(r *Request)
		want   string // the whole message; "" means valid
	}{
		{"valid", func(r *Request) {}, ""},
		{"trackingId 256", func(r *Request) { r.TrackingID = long(256) }, ""},
		{"trackingId 257", func(r *Request) { r.TrackingID = long(257) }, "trackingId: longer than 256 characters"},
		{"trackingId empty", func(r *Request) { r.TrackingID = "" }, "trackingId: missing or empty"},
		{"sessionId 257", func(r *Request) { r.SessionID = long(257) }, "sessionId: longer than 256 characters"},
		{"sessionId empty", func(r *Request) { r.SessionID = "" }, "sessionId: missing or empty"},
		{"userId 256", func(r *Request) { r.UserID = String(long(256)) }, ""},
		{"userId 257", func(r *Request) { r.UserID = String(long(257)) }, "userId: longer than 256 characters"},
		{"userId empty", func(r *Request) { r.UserID = String("") }, "userId: empty"},
		{"10 events", func(r *Request) { r.EventList = events(10) }, ""},
		{"11 events", func(r *Request) { r.EventList = events(11) }, "eventList: more than 10 items"},
		{"no events", func(r *Request) { r.EventList = []Event{} }, "eventList: empty list"},
		{"eventList missing", func(r *Request) { r.EventList = nil }, "eventList: missing or empty"},
		{"multi-byte characters count once", func(r *Request) { r.SessionID = strings.Repeat("é", 256) }, ""},
		{"error in 4th event", func(r *Request) {
			r.EventList = events(4)
			r.EventList[3].Properties = String(`{"a":"` + long(1017) + `"}`)
		}, "eventList[3].properties: longer than 1024 characters"},
		{"several errors", func(r *Request) {
			r.SessionID = ""
			r.EventList[0].EventType = ""
		}, "sessionId: missing or empty; eventList[0].eventType: missing or empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRequest()
			tt.modify(&r)
			checkErr(t, r.Validate(), tt.want)
		})
	}
}

func TestEventValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	// props returns a properties string of exactly n characters.
	props := func(n int) *string { return String(`{"k":"` + long(n-8) + `"}`) }
	items := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "item"
		}
		return out
	}
	tests := []struct {
		name   string
		modify func(e *Event)
		want   string
	}{
		{"valid", func(e *Event) {}, ""},
		{"eventType 256", func(e *Event) { e.EventType = long(256) }, ""},
		{"eventType 257", func(e *Event) { e.EventType = long(257) }, "eventType: longer than 256 characters"},
		{"eventType empty", func(e *Event) { e.EventType = "" }, "eventType: missing or empty"},
		{"eventId absent", func(e *Event) { e.EventID = nil }, ""},
		{"eventId 256", func(e *Event) { e.EventID = String(long(256)) }, ""},
		{"eventId 257", func(e *Event) { e.EventID = String(long(257)) }, "eventId: longer than 256 characters"},
		{"eventId empty", func(e *Event) { e.EventID = String("") }, "eventId: empty"},
		{"itemId 257", func(e *Event) { e.ItemID = String(long(257)) }, "itemId: longer than 256 characters"},
		{"itemId empty", func(e *Event) { e.ItemID = String("") }, "itemId: empty"},
		{"recommendationId 40", func(e *Event) { e.RecommendationID = String(long(40)) }, ""},
		{"recommendationId 40 multi-byte", func(e *Event) { e.RecommendationID = String(strings.Repeat("é", 40)) }, ""},
		{"recommendationId 41", func(e *Event) { e.RecommendationID = String(long(41)) }, "recommendationId: longer than 40 characters"},
		{"recommendationId empty", func(e *Event) { e.RecommendationID = String("") }, "recommendationId: empty"},
		{"25 impressions", func(e *Event) { e.Impression = items(25) }, ""},
		{"26 impressions", func(e *Event) { e.Impression = items(26) }, "impression: more than 25 items"},
		{"empty impression list", func(e *Event) { e.Impression = []string{} }, "impression: empty list"},
		{"impression item 256", func(e *Event) { e.Impression = []string{long(256)} }, ""},
		{"impression item 257", func(e *Event) { e.Impression = []string{"a", long(257)} }, "impression[1]: longer than 256 characters"},
		{"impression item empty", func(e *Event) { e.Impression = []string{"a", ""} }, "impression[1]: missing or empty"},
		{"eventValue", func(e *Event) { e.EventValue = Float(4.5) }, ""},
		{"eventValue NaN", func(e *Event) { e.EventValue = Float(math.NaN()) }, "eventValue: not a finite number"},
		{"eventValue Inf", func(e *Event) { e.EventValue = Float(math.Inf(-1)) }, "eventValue: not a finite number"},
		{"eventValue largest float32", func(e *Event) { e.EventValue = Float(math.MaxFloat32) }, ""},
		{"eventValue -largest float32", func(e *Event) { e.EventValue = Float(-math.MaxFloat32) }, ""},
		{"eventValue smallest float32", func(e *Event) { e.EventValue = Float(math.SmallestNonzeroFloat32) }, ""},
		{"eventValue rounding to the largest float32", func(e *Event) { e.EventValue = Float(3.4028235e38) }, ""},
		{"eventValue just under float32 overflow", func(e *Event) { e.EventValue = Float(-math.Nextafter(float32Overflow, 0)) }, ""},
		{"eventValue rounding to float32 infinity", func(e *Event) { e.EventValue = Float(float32Overflow) },
			"eventValue: outside a 32-bit float's range (magnitude at most 3.4028235e+38)"},
		{"eventValue -3.4028236e38", func(e *Event) { e.EventValue = Float(-3.4028236e38) },
			"eventValue: outside a 32-bit float's range (magnitude at most 3.4028235e+38)"},
		{"eventValue 1e39", func(e *Event) { e.EventValue = Float(1e39) }, "eventValue: outside a 32-bit float's range (magnitude at most 3.4028235e+38)"},
		{"eventValue -1e39", func(e *Event) { e.EventValue = Float(-1e39) }, "eventValue: outside a 32-bit float's range (magnitude at most 3.4028235e+38)"},
		{"properties 1024", func(e *Event) { e.Properties = props(1024) }, ""},
		{"properties 1025", func(e *Event) { e.Properties = props(1025) }, "properties: longer than 1024 characters"},
		{"properties empty", func(e *Event) { e.Properties = String("") }, "properties: empty"},
		{"properties empty object", func(e *Event) { e.Properties = String("{}") }, ""},
		{"properties scalars", func(e *Event) {
			e.Properties = String(`{"itemId":"movie3","eventValue":3,"numberOfRatings":"12","liked":true}`)
		}, ""},
		{"properties not JSON", func(e *Event) { e.Properties = String(`itemId=movie1`) }, `properties: not a JSON object (expected e.g. {"itemId":"movie1"})`},
		{"properties an array", func(e *Event) { e.Properties = String(`["a"]`) }, `properties: not a JSON object (expected e.g. {"itemId":"movie1"})`},
		{"properties trailing data", func(e *Event) { e.Properties = String(`{"a":"b"}{}`) }, `properties: not a JSON object (expected e.g. {"itemId":"movie1"})`},
		{"properties snake_case key", func(e *Event) { e.Properties = String(`{"item_id":"m"}`) }, `properties: key "item_id" is not camelCase`},
		{"properties PascalCase key", func(e *Event) { e.Properties = String(`{"ItemId":"m"}`) }, `properties: key "ItemId" is not camelCase`},
		{"properties empty key", func(e *Event) { e.Properties = String(`{"":"m"}`) }, `properties: key "" is not camelCase`},
		{"properties nested object", func(e *Event) { e.Properties = String(`{"a":{"b":1}}`) }, `properties: key "a" has a nested value; values must be strings, numbers or booleans`},
		{"properties nested array", func(e *Event) { e.Properties = String(`{"a":[1]}`) }, `properties: key "a" has a nested value; values must be strings, numbers or booleans`},
		{"properties null value", func(e *Event) { e.Properties = String(`{"a":null}`) }, `properties: key "a" is null; use a string, number or boolean`},
		{"properties duplicate key", func(e *Event) { e.Properties = String(`{"a":1,"a":2}`) }, `properties: key "a" appears twice`},
		{"sentAt missing", func(e *Event) { e.SentAt = 0 }, "sentAt: missing or empty"},
		{"sentAt negative", func(e *Event) { e.SentAt = -1 }, "sentAt: must be a positive number of seconds since 1970"},
		{"sentAt NaN", func(e *Event) { e.SentAt = Timestamp(math.NaN()) }, "sentAt: not a finite number"},
		{"sentAt +Inf", func(e *Event) { e.SentAt = Timestamp(math.Inf(1)) }, "sentAt: not a finite number"},
		{"sentAt last second of 9999", func(e *Event) { e.SentAt = MaxSentAt - 1 }, ""},
		{"sentAt year 10000", func(e *Event) { e.SentAt = MaxSentAt }, "sentAt: after the year 9999 (send seconds, not microseconds)"},
		{"metricAttribution", func(e *Event) { e.MetricAttribution = &MetricAttribution{EventAttributionSource: "email"} }, ""},
		{"metricAttribution 1024", func(e *Event) { e.MetricAttribution = &MetricAttribution{EventAttributionSource: long(1024)} }, ""},
		{"metricAttribution 1025", func(e *Event) {
			e.MetricAttribution = &MetricAttribution{EventAttributionSource: long(1025)}
		}, "metricAttribution.eventAttributionSource: longer than 1024 characters"},
		{"metricAttribution empty", func(e *Event) {
			e.MetricAttribution = &MetricAttribution{}
		}, "metricAttribution.eventAttributionSource: missing or empty"},
		{"metricAttribution 1024 with spaces", func(e *Event) {
			e.MetricAttribution = &MetricAttribution{EventAttributionSource: " " + long(1022) + " "}
		}, ""},
		{"metricAttribution one tilde", func(e *Event) { e.MetricAttribution = &MetricAttribution{EventAttributionSource: "~"} }, ""},
		{"metricAttribution one bang", func(e *Event) { e.MetricAttribution = &MetricAttribution{EventAttributionSource: "!"} }, ""},
		{"metricAttribution only spaces", func(e *Event) {
			e.MetricAttribution = &MetricAttribution{EventAttributionSource: "   "}
		}, "metricAttribution.eventAttributionSource: " + sourceRule},
		{"metricAttribution one space", func(e *Event) {
			e.MetricAttribution = &MetricAttribution{EventAttributionSource: " "}
		}, "metricAttribution.eventAttributionSource: " + sourceRule},
		{"metricAttribution control char", func(e *Event) {
			e.MetricAttribution = &MetricAttribution{EventAttributionSource: "a\nb"}
		}, "metricAttribution.eventAttributionSource: " + sourceRule},
		{"metricAttribution DEL", func(e *Event) {
			e.MetricAttribution = &MetricAttribution{EventAttributionSource: "a\x7f"}
		}, "metricAttribution.eventAttributionSource: " + sourceRule},
		{"metricAttribution non-ASCII", func(e *Event) {
			e.MetricAttribution = &MetricAttribution{EventAttributionSource: "café"}
		}, "metricAttribution.eventAttributionSource: " + sourceRule},
		{"properties key like a reserved one", func(e *Event) { e.Properties = String(`{"userName":"a","impressions":1}`) }, ""},
		{"properties userId", func(e *Event) { e.Properties = String(`{"userId":"a"}`) }, reservedRule("userId")},
		{"properties sessionId", func(e *Event) { e.Properties = String(`{"genre":"a","sessionId":"a"}`) }, reservedRule("sessionId")},
		{"properties eventType", func(e *Event) { e.Properties = String(`{"eventType":"a"}`) }, reservedRule("eventType")},
		{"properties timestamp", func(e *Event) { e.Properties = String(`{"timestamp":1}`) }, reservedRule("timestamp")},
		{"properties timeStamp", func(e *Event) { e.Properties = String(`{"timeStamp":1}`) }, reservedRule("timeStamp")},
		{"properties recommendationID", func(e *Event) { e.Properties = String(`{"recommendationID":"r"}`) }, reservedRule("recommendationID")},
		{"properties impression", func(e *Event) { e.Properties = String(`{"impression":"a|b"}`) }, reservedRule("impression")},
		{"properties userID", func(e *Event) { e.Properties = String(`{"userID":"a"}`) }, reservedRule("userID")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEvent()
			tt.modify(&e)
			checkErr(t, e.Validate(), tt.want)
		})
	}
}

// sourceRule is how a broken eventAttributionSource pattern reads.
const sourceRule = `must be printable ASCII and not only spaces (pattern ^[\x20-\x7E]*[\x21-\x7E]+[\x20-\x7E]*$)`

func reservedRule(key string) string {
	return `properties: key "` + key + `" is reserved by PutEvents (userId, sessionId, eventType, timestamp, recommendationId, impression, in any case)`
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("got error %q, want none", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	if err.Error() != want {
		t.Fatalf("got error\n  %q\nwant\n  %q", err, want)
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T does not unwrap to *FieldError", err)
	}
}

func TestErrorsMessageIsBounded(t *testing.T) {
	r := validRequest()
	r.EventList = events(10)
	for i := range r.EventList {
		r.EventList[i].EventType = ""
		r.EventList[i].ItemID = String("")
	}
	err := r.Validate()
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 20 {
		t.Fatalf("want 20 field errors, got %v", err)
	}
	if !strings.HasSuffix(err.Error(), "; and 10 more") {
		t.Fatalf("message not bounded: %q", err)
	}
}

func TestEncodeProperties(t *testing.T) {
	tests := []struct {
		name    string
		props   map[string]any
		want    string
		wantErr string
	}{
		{"sorted scalars", map[string]any{"numberOfRatings": "12", "eventValue": 3.5, "liked": true, "count": 2},
			`{"count":2,"eventValue":3.5,"liked":true,"numberOfRatings":"12"}`, ""},
		{"escapes", map[string]any{"title": "<a \"b\">\n"}, `{"title":"\u003ca \"b\"\u003e\n"}`, ""},
		{"empty", map[string]any{}, `{}`, ""},
		{"not camelCase", map[string]any{"Item": "x"}, "", `properties: key "Item" is not camelCase`},
		{"nested", map[string]any{"a": map[string]any{}}, "", `properties: key "a" is not a string, number or boolean`},
		{"null", map[string]any{"a": nil}, "", `properties: key "a" is not a string, number or boolean`},
		{"NaN", map[string]any{"a": math.NaN()}, "", `properties: key "a" is not a finite number`},
		{"reserved", map[string]any{"genre": "x", "Impression": "a"}, "", `properties: key "Impression" is not camelCase`},
		{"reserved camelCase", map[string]any{"genre": "x", "userId": "a"}, "", reservedRule("userId")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeProperties(tt.props)
			if tt.wantErr != "" {
				checkErr(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
			// What we encode, we must accept.
			back, err := ParseProperties(got)
			if err != nil {
				t.Fatalf("encoded properties do not parse: %v", err)
			}
			if len(back) != len(tt.props) {
				t.Fatalf("round trip lost keys: %v", back)
			}
		})
	}
}

func TestParsePropertiesKeepsNumbersExact(t *testing.T) {
	m, err := ParseProperties(`{"big":12345678901234567890,"s":"x","b":false}`)
	if err != nil {
		t.Fatal(err)
	}
	if m["big"] != json.Number("12345678901234567890") || m["s"] != "x" || m["b"] != false {
		t.Fatalf("got %#v", m)
	}
}
