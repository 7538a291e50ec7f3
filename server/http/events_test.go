package http_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPutEventsStoresEveryMember(t *testing.T) {
	e := newEnv(t)
	tid := e.tracker()
	before := time.Now().UnixMilli()
	r := e.post(`{"trackingId":"`+tid+`","sessionId":"sess-1","userId":"user-1","unknownMember":true,"eventList":[{
		"eventId":"ev-1","eventType":"MovieRating","eventValue":4.5,"itemId":"movie2",
		"impression":["movie1","movie2","movie3"],"recommendationId":"rec-9",
		"metricAttribution":{"eventAttributionSource":"home-carousel"},
		"properties":"{\"itemId\":\"movie2\",\"numberOfRatings\":\"12\"}","sentAt":1714979289.123}]}`, nil)
	after := time.Now().UnixMilli()
	if r.status != 200 || r.body != "{}" {
		t.Fatalf("got %d %q, want 200 {}", r.status, r.body)
	}
	rows := e.rows()
	if len(rows) != 1 {
		t.Fatalf("stored %d rows, want 1", len(rows))
	}
	got := rows[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"tracking_id", got.TrackingID, tid},
		{"event_id", got.EventID, "ev-1"},
		{"session_id", got.SessionID, "sess-1"},
		{"user_id", got.UserID.String, "user-1"},
		{"event_type", got.EventType, "MovieRating"},
		{"event_value", got.EventValue.Float64, 4.5},
		{"item_id", got.ItemID.String, "movie2"},
		{"impression", got.Impression.String, `["movie1","movie2","movie3"]`},
		{"recommendation_id", got.RecommendationID.String, "rec-9"},
		{"metric_attribution", got.MetricAttribution.String, `{"eventAttributionSource":"home-carousel"}`},
		{"properties", got.Properties.String, `{"itemId":"movie2","numberOfRatings":"12"}`},
		{"sent_at_ms", got.SentAtMs, int64(1714979289123)},
		{"occurred_at_ms (no X-Tracklet-Sent-At: = sentAt)", got.OccurredAtMs, int64(1714979289123)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if got.ReceivedAtMs < before || got.ReceivedAtMs > after {
		t.Errorf("received_at_ms %d outside [%d, %d]", got.ReceivedAtMs, before, after)
	}
}

func TestPutEventsOptionalMembersStayNull(t *testing.T) {
	e := newEnv(t)
	tid := e.tracker()
	if r := e.post(body(tid, okEvent), nil); r.status != 200 {
		t.Fatalf("got %d %s", r.status, r.message)
	}
	got := e.rows()[0]
	if got.UserID.Valid || got.ItemID.Valid || got.RecommendationID.Valid || got.Impression.Valid ||
		got.MetricAttribution.Valid || got.Properties.Valid || got.EventValue.Valid {
		t.Errorf("absent members stored as values: %+v", got)
	}
	if len(got.EventID) != 36 || got.EventID[14] != '7' {
		t.Errorf("generated eventId %q is not a UUIDv7", got.EventID)
	}
}

func TestPutEventsNormalisesSentAt(t *testing.T) {
	tests := []struct {
		sentAt string
		wantMs int64
	}{
		{`1714979289`, 1714979289000},
		{`1714979289.123`, 1714979289123},
		{`1714979289123`, 1714979289123},              // milliseconds
		{`"2024-05-06T07:08:09.123Z"`, 1714979289123}, // RFC 3339
		{`"2024-05-06T09:08:09.123+02:00"`, 1714979289123},
	}
	for _, tt := range tests {
		t.Run(tt.sentAt, func(t *testing.T) {
			e := newEnv(t)
			tid := e.tracker()
			if r := e.post(body(tid, `{"eventType":"View","sentAt":`+tt.sentAt+`}`), nil); r.status != 200 {
				t.Fatalf("got %d %s", r.status, r.message)
			}
			if got := e.rows()[0].SentAtMs; got != tt.wantMs {
				t.Errorf("sent_at_ms = %d, want %d", got, tt.wantMs)
			}
		})
	}
}

func TestPutEventsCorrectsClockSkew(t *testing.T) {
	e := newEnv(t)
	tid := e.tracker()
	// The client's clock is an hour ahead: it says it sent the request at
	// now+1h, and the event happened 2 s before that.
	clientNow := time.Now().Add(time.Hour).UnixMilli()
	sentAt := clientNow - 2000
	r := e.post(body(tid, fmt.Sprintf(`{"eventType":"View","sentAt":%d}`, sentAt)),
		map[string]string{"X-Tracklet-Sent-At": fmt.Sprint(clientNow)})
	if r.status != 200 {
		t.Fatalf("got %d %s", r.status, r.message)
	}
	got := e.rows()[0]
	if got.SentAtMs != sentAt {
		t.Errorf("sent_at_ms = %d, want the client's %d", got.SentAtMs, sentAt)
	}
	if want := got.ReceivedAtMs - 2000; got.OccurredAtMs != want {
		t.Errorf("occurred_at_ms = %d, want received - 2 s = %d", got.OccurredAtMs, want)
	}
	for _, bad := range []string{"soon", "-5", "0", "1.5", "253402300800000"} {
		r := e.post(body(tid, okEvent), map[string]string{"X-Tracklet-Sent-At": bad})
		if r.status != 400 || !strings.Contains(r.message, "X-Tracklet-Sent-At") {
			t.Errorf("X-Tracklet-Sent-At %q: got %d %q, want 400 naming the header", bad, r.status, r.message)
		}
	}
}

func TestPutEventsAcceptsAtEveryLimit(t *testing.T) {
	s256 := strings.Repeat("x", 256)
	items25 := `"` + strings.TrimSuffix(strings.Repeat(s256+`","`, 25), `","`) + `"`
	props1024 := `"{\"k\":\"` + strings.Repeat("p", 1024-8) + `\"}"`
	tests := []struct{ name, body string }{
		{"10 events", body("TID", repeatEvents(okEvent, 10)...)},
		{"256-char ids", `{"trackingId":"TID","sessionId":"` + s256 + `","userId":"` + s256 + `","eventList":[{"eventType":"` + s256 +
			`","eventId":"` + s256 + `","itemId":"` + s256 + `","recommendationId":"` + strings.Repeat("r", 40) + `","sentAt":1}]}`},
		{"largest float32 eventValue", body("TID", `{"eventType":"V","sentAt":1,"eventValue":3.4028234663852886e38}`)},
		{"25 impressions of 256", body("TID", `{"eventType":"V","sentAt":1,"impression":[`+items25+`]}`)},
		{"1024-char properties", body("TID", `{"eventType":"V","sentAt":1,"properties":`+props1024+`}`)},
		{"1024-char attribution", body("TID", `{"eventType":"V","sentAt":1,"metricAttribution":{"eventAttributionSource":"`+strings.Repeat("a", 1024)+`"}}`)},
		{"sentAt in the last millisecond of 9999", body("TID", `{"eventType":"V","sentAt":253402300799999}`)},
		{"smallest sentAt", body("TID", `{"eventType":"V","sentAt":0.001}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tid := e.tracker()
			r := e.post(strings.ReplaceAll(tt.body, "TID", tid), nil)
			if r.status != 200 {
				t.Fatalf("got %d %q, want 200", r.status, r.message)
			}
			if len(e.rows()) == 0 {
				t.Error("nothing stored")
			}
		})
	}
}

func TestPutEventsRejectsEachRule(t *testing.T) {
	s257 := strings.Repeat("x", 257)
	tests := []struct {
		name, body, want string
	}{
		{"not JSON", `{"trackingId":`, "body: not valid JSON"},
		{"empty body", ``, "body: empty"},
		{"array body", `[1]`, "body: must be a JSON object"},
		{"missing trackingId", `{"sessionId":"s","eventList":[` + okEvent + `]}`, "trackingId: missing or empty"},
		{"trackingId 257", `{"trackingId":"` + s257 + `","sessionId":"s","eventList":[` + okEvent + `]}`, "trackingId: longer than 256 characters"},
		{"missing sessionId", `{"trackingId":"TID","eventList":[` + okEvent + `]}`, "sessionId: missing or empty"},
		{"sessionId 257", `{"trackingId":"TID","sessionId":"` + s257 + `","eventList":[` + okEvent + `]}`, "sessionId: longer than 256 characters"},
		{"empty userId", `{"trackingId":"TID","sessionId":"s","userId":"","eventList":[` + okEvent + `]}`, "userId: empty"},
		{"userId 257", `{"trackingId":"TID","sessionId":"s","userId":"` + s257 + `","eventList":[` + okEvent + `]}`, "userId: longer than 256 characters"},
		{"no eventList", `{"trackingId":"TID","sessionId":"s"}`, "eventList: missing or empty"},
		{"empty eventList", `{"trackingId":"TID","sessionId":"s","eventList":[]}`, "eventList: empty list"},
		{"11 events", body("TID", repeatEvents(okEvent, 11)...), "eventList: more than 10 items"},
		{"empty eventType", body("TID", `{"eventType":"","sentAt":1}`), "eventList[0].eventType: missing or empty"},
		{"eventType 257", body("TID", okEvent, `{"eventType":"`+s257+`","sentAt":1}`), "eventList[1].eventType: longer than 256 characters"},
		{"eventType number", body("TID", `{"eventType":5,"sentAt":1}`), "eventList[0].eventType: must be a string"},
		{"empty eventId", body("TID", `{"eventType":"V","eventId":"","sentAt":1}`), "eventList[0].eventId: empty"},
		{"eventId 257", body("TID", `{"eventType":"V","eventId":"`+s257+`","sentAt":1}`), "eventList[0].eventId: longer than 256 characters"},
		{"empty itemId", body("TID", `{"eventType":"V","itemId":"","sentAt":1}`), "eventList[0].itemId: empty"},
		{"itemId 257", body("TID", `{"eventType":"V","itemId":"`+s257+`","sentAt":1}`), "eventList[0].itemId: longer than 256 characters"},
		{"recommendationId 41", body("TID", `{"eventType":"V","recommendationId":"`+strings.Repeat("r", 41)+`","sentAt":1}`), "eventList[0].recommendationId: longer than 40 characters"},
		{"eventValue string", body("TID", `{"eventType":"V","eventValue":"4.5","sentAt":1}`), "eventList[0].eventValue: must be a number"},
		{"empty impression", body("TID", `{"eventType":"V","impression":[],"sentAt":1}`), "eventList[0].impression: empty list"},
		{"26 impressions", body("TID", `{"eventType":"V","impression":[`+strings.TrimSuffix(strings.Repeat(`"m",`, 26), ",")+`],"sentAt":1}`), "eventList[0].impression: more than 25 items"},
		{"impression item 257", body("TID", `{"eventType":"V","impression":["`+s257+`"],"sentAt":1}`), "eventList[0].impression[0]: longer than 256 characters"},
		{"empty impression item", body("TID", `{"eventType":"V","impression":["a",""],"sentAt":1}`), "eventList[0].impression[1]: missing or empty"},
		{"attribution 1025", body("TID", `{"eventType":"V","sentAt":1,"metricAttribution":{"eventAttributionSource":"`+strings.Repeat("a", 1025)+`"}}`), "eventList[0].metricAttribution.eventAttributionSource: longer than 1024 characters"},
		{"attribution missing source", body("TID", `{"eventType":"V","sentAt":1,"metricAttribution":{}}`), "eventList[0].metricAttribution.eventAttributionSource: missing or empty"},
		{"properties 1025", body("TID", `{"eventType":"V","sentAt":1,"properties":"{\"k\":\"`+strings.Repeat("p", 1025-8)+`\"}"}`), "eventList[0].properties: longer than 1024 characters"},
		{"empty properties", body("TID", `{"eventType":"V","sentAt":1,"properties":""}`), "eventList[0].properties: empty"},
		{"properties not an object", body("TID", `{"eventType":"V","sentAt":1,"properties":"[1]"}`), "eventList[0].properties: not a JSON object"},
		{"properties as object", body("TID", `{"eventType":"V","sentAt":1,"properties":{"a":1}}`), "eventList[0].properties: must be a string"},
		{"properties snake_case", body("TID", `{"eventType":"V","sentAt":1,"properties":"{\"item_id\":\"a\"}"}`), `eventList[0].properties: key "item_id" is not camelCase`},
		{"properties nested", body("TID", `{"eventType":"V","sentAt":1,"properties":"{\"a\":{\"b\":1}}"}`), `eventList[0].properties: key "a" has a nested value`},
		{"missing sentAt", body("TID", `{"eventType":"V"}`), "eventList[0].sentAt: missing or empty"},
		{"negative sentAt", body("TID", `{"eventType":"V","sentAt":-1}`), "eventList[0].sentAt: must be a positive number"},
		{"sentAt year 10000", body("TID", `{"eventType":"V","sentAt":253402300800000}`), "eventList[0].sentAt: after the year 9999"},
		{"sentAt in microseconds", body("TID", `{"eventType":"V","sentAt":1714979289123456}`), "eventList[0].sentAt: after the year 9999"},
		{"sentAt bad string", body("TID", `{"eventType":"V","sentAt":"yesterday"}`), "eventList[0].sentAt: string is not an RFC 3339 time"},
		{"several rules", body("TID", `{"eventType":""}`, `{"eventType":"V","sentAt":1,"itemId":""}`), "eventList[0].eventType: missing or empty; eventList[0].sentAt: missing or empty; eventList[1].itemId: empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tid := e.tracker()
			// A valid event first proves that a request is all-or-nothing.
			payload := strings.ReplaceAll(tt.body, "TID", tid)
			r := e.post(payload, nil)
			if r.status != 400 {
				t.Fatalf("got %d %q, want 400", r.status, r.message)
			}
			if got := r.header.Get("x-amzn-ErrorType"); got != "InvalidInputException" {
				t.Errorf("x-amzn-ErrorType = %q", got)
			}
			if !strings.HasPrefix(r.message, tt.want) {
				t.Errorf("message %q, want it to start with %q", r.message, tt.want)
			}
			if rows := e.rows(); len(rows) != 0 {
				t.Errorf("stored %d events of an invalid request", len(rows))
			}
			rej := e.rejections(1)
			if len(rej) != 1 || rej[0].Status != 400 || rej[0].Reason != r.message {
				t.Fatalf("rejected log = %+v, want this request", rej)
			}
			if want := payload[:min(len(payload), 4096)]; rej[0].Body != want {
				t.Errorf("rejected body %q, want the first 4096 bytes of the request", rej[0].Body)
			}
		})
	}
}

func TestPutEventsKeepsFirstOfDuplicateEventIDs(t *testing.T) {
	e := newEnv(t)
	tid, other := e.tracker(), e.tracker()
	first := body(tid, `{"eventId":"a","eventType":"First","sentAt":1}`, `{"eventId":"a","eventType":"SameBatch","sentAt":2}`,
		`{"eventId":"b","eventType":"B","sentAt":3}`)
	r := e.post(first, nil)
	if r.status != 200 || r.header.Get("X-Tracklet-Accepted") != "2" || r.header.Get("X-Tracklet-Duplicates") != "1" {
		t.Fatalf("first: %d accepted=%s duplicates=%s", r.status, r.header.Get("X-Tracklet-Accepted"), r.header.Get("X-Tracklet-Duplicates"))
	}
	// A retry of a request is harmless, and the same eventId of another
	// tracker is another event.
	r = e.post(body(tid, `{"eventId":"a","eventType":"Retry","sentAt":4}`, `{"eventId":"c","eventType":"C","sentAt":5}`), nil)
	if r.status != 200 || r.header.Get("X-Tracklet-Accepted") != "1" || r.header.Get("X-Tracklet-Duplicates") != "1" {
		t.Fatalf("retry: %d accepted=%s", r.status, r.header.Get("X-Tracklet-Accepted"))
	}
	if r := e.post(body(other, `{"eventId":"a","eventType":"Other","sentAt":6}`), nil); r.status != 200 {
		t.Fatalf("other tracker: %d", r.status)
	}
	var got []string
	for _, row := range e.rows() {
		got = append(got, row.TrackingID[:3]+":"+row.EventID+":"+row.EventType)
	}
	want := []string{"tk_:a:First", "tk_:b:B", "tk_:c:C", "tk_:a:Other"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

func TestPutEventsUnknownOrDisabledTracker(t *testing.T) {
	e := newEnv(t)
	disabled := e.tracker()
	if err := e.db.SetTrackerDisabled(t.Context(), disabled, true); err != nil {
		t.Fatal(err)
	}
	for _, tid := range []string{"tk_doesnotexist", disabled} {
		r := e.post(body(tid, okEvent), nil)
		if r.status != 404 || r.header.Get("x-amzn-ErrorType") != "ResourceNotFoundException" || !strings.Contains(r.message, tid) {
			t.Errorf("%s: got %d %s %q, want 404 ResourceNotFoundException naming it", tid, r.status, r.header.Get("x-amzn-ErrorType"), r.message)
		}
	}
	if len(e.rows()) != 0 {
		t.Error("stored events of an unknown tracker")
	}
	// A tracker created while the server runs is usable at once.
	if r := e.post(body(e.tracker(), okEvent), nil); r.status != 200 {
		t.Errorf("new tracker: %d %s", r.status, r.message)
	}
}

func TestPutEventsPaths(t *testing.T) {
	e := newEnv(t)
	tid := e.tracker()
	noRedirect := *e.client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e.client = &noRedirect
	for _, path := range []string{"/events", "//events", "/base//events", "/base/events", "///events"} {
		if r := e.do("POST", path, []byte(body(tid, okEvent)), nil); r.status != 200 {
			t.Errorf("POST %s: %d %q, want 200", path, r.status, r.message)
		}
	}
	if r := e.do("GET", "/events", nil, nil); r.status != 405 || r.header.Get("Allow") != "POST, OPTIONS" {
		t.Errorf("GET /events: %d Allow=%q", r.status, r.header.Get("Allow"))
	}
	if r := e.do("POST", "/eventsx", []byte(body(tid, okEvent)), nil); r.status != 404 {
		t.Errorf("POST /eventsx: %d", r.status)
	}
	if n := len(e.rows()); n != 5 {
		t.Errorf("stored %d events, want 5", n)
	}
}

func TestPutEventsContentTypes(t *testing.T) {
	tests := []struct {
		contentType string
		want        int
	}{
		{"application/json", 200},
		{"application/json; charset=utf-8", 200},
		{"text/plain;charset=UTF-8", 200}, // sendBeacon, preflight-free fetch
		{"none", 200},
		{"application/x-amz-json-1.1", 200},
		{"application/x-www-form-urlencoded", 415},
		{"multipart/form-data; boundary=x", 415},
	}
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			e := newEnv(t)
			tid := e.tracker()
			ct := tt.contentType
			if ct == "none" {
				ct = ""
			}
			r := e.post(body(tid, okEvent), map[string]string{"Content-Type": ct})
			if r.status != tt.want {
				t.Fatalf("got %d %q, want %d", r.status, r.message, tt.want)
			}
			if stored := len(e.rows()); (stored == 1) != (tt.want == 200) {
				t.Errorf("stored %d", stored)
			}
		})
	}
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPutEventsGzip(t *testing.T) {
	e := newEnv(t)
	tid := e.tracker()
	gz := map[string]string{"Content-Encoding": "gzip"}
	if r := e.do("POST", "/events", gzipped(t, []byte(body(tid, okEvent))), gz); r.status != 200 {
		t.Fatalf("gzip body: %d %q", r.status, r.message)
	}
	if r := e.do("POST", "/events", []byte(body(tid, okEvent)), gz); r.status != 400 || r.message != "body: not valid gzip" {
		t.Errorf("plain body labelled gzip: %d %q", r.status, r.message)
	}
	if r := e.do("POST", "/events", []byte(body(tid, okEvent)), map[string]string{"Content-Encoding": "br"}); r.status != 415 {
		t.Errorf("br body: %d %q, want 415", r.status, r.message)
	}
	if n := len(e.rows()); n != 1 {
		t.Errorf("stored %d, want 1", n)
	}
}
