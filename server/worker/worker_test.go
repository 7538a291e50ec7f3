package worker_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/worker"
)

func decodeValid(t *testing.T, body string) *event.Request {
	t.Helper()
	r, err := event.DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBatchRoundTrip(t *testing.T) {
	full := `{"trackingId":"tk_a","sessionId":"s","userId":"u","eventList":[
		{"eventId":"e1","eventType":"Rate","sentAt":1714979289.123,"eventValue":4.5,"itemId":"i",
		 "impression":["i","j"],"recommendationId":"r","metricAttribution":{"eventAttributionSource":"mail"},
		 "properties":"{\"numberOfRatings\":\"12\"}"},
		{"eventId":"e2","eventType":"View","sentAt":"5138-01-01T00:00:00.001Z"},
		{"eventId":"e3","eventType":"View","sentAt":1}]}`
	for name, b := range map[string]*server.Batch{
		"every member": {Request: decodeValid(t, full), ReceivedAt: time.UnixMilli(1714979290001),
			ClientSentAt: time.UnixMilli(1714979280000)},
		"no user, no client time": {Request: decodeValid(t,
			`{"trackingId":"tk_a","sessionId":"s","eventList":[{"eventId":"x","eventType":"T","sentAt":1714979289}]}`),
			ReceivedAt: time.UnixMilli(1714979290001)},
	} {
		t.Run(name, func(t *testing.T) {
			msg, err := worker.EncodeBatch(b)
			if err != nil {
				t.Fatal(err)
			}
			got, err := worker.DecodeBatch(msg)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, b) {
				t.Errorf("round trip of %s\n got %+v\nwant %+v", msg, got, b)
			}
			for i, e := range got.Request.EventList {
				if e.SentAt.UnixMilli() != b.Request.EventList[i].SentAt.UnixMilli() {
					t.Errorf("event %d: sentAt %v, want %v", i, e.SentAt, b.Request.EventList[i].SentAt)
				}
			}
		})
	}
}

func TestBatchNeedsEventIDs(t *testing.T) {
	b := &server.Batch{Request: decodeValid(t,
		`{"trackingId":"tk_a","sessionId":"s","eventList":[{"eventType":"T","sentAt":1714979289}]}`), ReceivedAt: time.Now()}
	if _, err := worker.EncodeBatch(b); err == nil {
		t.Error("EncodeBatch took an event without an eventId")
	}
	for _, bad := range []string{``, `{}`, `{"receivedAtMs":1,"request":{"eventList":[{"eventType":"T","sentAt":1}]}}`, `[1]`} {
		if _, err := worker.DecodeBatch(bad); err == nil {
			t.Errorf("DecodeBatch(%q) succeeded", bad)
		}
	}
}

// chanQueue is an in-process Queue; the real one is exercised by the
// wrangler tests.
type chanQueue chan string

func (q chanQueue) Send(ctx context.Context, body string) error {
	q <- body
	return nil
}

// TestPutEventsKeepsEventIDs: the queue carries the eventIds the handler
// assigned (server.AssignEventIDs), so that a redelivery repeats them, and
// a batch that lacks one is refused before anything is enqueued.
func TestPutEventsKeepsEventIDs(t *testing.T) {
	q := make(chanQueue, 1)
	s := &worker.Store{Queue: q}
	b := &server.Batch{Request: decodeValid(t, `{"trackingId":"tk_a","sessionId":"s","eventList":[
		{"eventType":"T","sentAt":1714979289},{"eventId":"mine","eventType":"T","sentAt":1714979289}]}`), ReceivedAt: time.Now()}
	if _, err := s.PutEvents(context.Background(), b); err == nil || len(q) != 0 {
		t.Fatalf("PutEvents of an event without an eventId: err %v, %d messages enqueued; want an error and none", err, len(q))
	}
	if err := server.AssignEventIDs(b.Request); err != nil {
		t.Fatal(err)
	}
	res, err := s.PutEvents(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if res != (server.PutResult{Accepted: 2}) {
		t.Errorf("PutEvents = %+v", res)
	}
	got, err := worker.DecodeBatch(<-q)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{*got.Request.EventList[0].EventID, *got.Request.EventList[1].EventID}
	if ids[0] != *b.Request.EventList[0].EventID || ids[1] != "mine" {
		t.Errorf("enqueued eventIds %q, want %q and \"mine\"", ids, *b.Request.EventList[0].EventID)
	}
}

func TestRejoinHeaders(t *testing.T) {
	var got http.Header
	h := worker.RejoinHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header }))
	r := httptest.NewRequest("OPTIONS", "/events", nil)
	// As syumai/workers hands over "content-type, x-tracklet-sent-at" and
	// "text/plain;charset=UTF-8".
	r.Header["Access-Control-Request-Headers"] = []string{"content-type", " x-tracklet-sent-at"}
	r.Header["Content-Type"] = []string{"text/plain;charset=UTF-8"}
	h.ServeHTTP(httptest.NewRecorder(), r)
	if v := got["Access-Control-Request-Headers"]; len(v) != 1 || v[0] != "content-type, x-tracklet-sent-at" {
		t.Errorf("Access-Control-Request-Headers = %q", v)
	}
	if v := got["Content-Type"]; len(v) != 1 || v[0] != "text/plain;charset=UTF-8" {
		t.Errorf("Content-Type = %q", v)
	}
}

// TestPutEventsSplitsLargeRequests sends ten events at their size limits
// with strings JSON must escape: the request is over a queue message's
// size, so it goes as several messages, each under MaxMessageBytes, that
// together hold every event once.
func TestPutEventsSplitsLargeRequests(t *testing.T) {
	q := make(chanQueue, 16)
	s := &worker.Store{Queue: q}
	item := strings.Repeat("<", event.MaxIDLength)
	impressions := make([]string, event.MaxImpressions)
	for i := range impressions {
		impressions[i] = fmt.Sprintf(`"%s"`, item)
	}
	var evs []string
	for i := range event.MaxEvents {
		evs = append(evs, fmt.Sprintf(`{"eventId":"e%d","eventType":"T","sentAt":1714979289,"impression":[%s]}`,
			i, strings.Join(impressions, ",")))
	}
	b := &server.Batch{Request: decodeValid(t, `{"trackingId":"tk_a","sessionId":"s","eventList":[`+strings.Join(evs, ",")+`]}`),
		ReceivedAt: time.Now()}
	if whole, _ := worker.EncodeBatch(b); len(whole) <= worker.MaxMessageBytes {
		t.Fatalf("the request encodes to %d bytes: not over the limit, the test proves nothing", len(whole))
	}
	res, err := s.PutEvents(context.Background(), b)
	if err != nil || res.Accepted != event.MaxEvents {
		t.Fatalf("PutEvents = %+v, %v", res, err)
	}
	close(q)
	var ids []string
	for msg := range q {
		if len(msg) > worker.MaxMessageBytes {
			t.Errorf("a message of %d bytes", len(msg))
		}
		got, err := worker.DecodeBatch(msg)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range got.Request.EventList {
			ids = append(ids, *e.EventID)
		}
	}
	if len(ids) != event.MaxEvents || ids[0] != "e0" || ids[9] != "e9" {
		t.Errorf("the messages hold %v", ids)
	}
}
