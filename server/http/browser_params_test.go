package http_test

import (
	"fmt"
	"testing"
	"time"
)

// The browser tracker sends only CORS-simple requests, so it cannot set
// X-Tracklet-Sent-At or Content-Encoding; it puts both in the query.

func TestPutEventsSentAtQueryCorrectsClockSkew(t *testing.T) {
	e := newEnv(t)
	tid := e.tracker()
	clientNow := time.Now().Add(-time.Hour).UnixMilli() // the client's clock is an hour behind
	sentAt := clientNow - 5000
	r := e.post(body(tid, fmt.Sprintf(`{"eventType":"View","sentAt":%d}`, sentAt)), nil)
	if r.status != 200 {
		t.Fatalf("without sentAt: %d %s", r.status, r.message)
	}
	r = e.do("POST", fmt.Sprintf("/events?sentAt=%d", clientNow),
		[]byte(body(tid, fmt.Sprintf(`{"eventId":"q","eventType":"View","sentAt":%d}`, sentAt))), nil)
	if r.status != 200 {
		t.Fatalf("with sentAt: %d %s", r.status, r.message)
	}
	rows := e.rows()
	if rows[0].OccurredAtMs != sentAt {
		t.Errorf("without the send time, occurred_at_ms = %d, want sent_at_ms %d", rows[0].OccurredAtMs, sentAt)
	}
	if want := rows[1].ReceivedAtMs - 5000; rows[1].OccurredAtMs != want {
		t.Errorf("occurred_at_ms = %d, want received - 5 s = %d", rows[1].OccurredAtMs, want)
	}
	if r := e.do("POST", "/events?sentAt=soon", []byte(body(tid, okEvent)), nil); r.status != 400 {
		t.Errorf("sentAt=soon: %d %q, want 400", r.status, r.message)
	}
}

func TestPutEventsEncodingQueryGzip(t *testing.T) {
	e := newEnv(t)
	tid := e.tracker()
	plain := map[string]string{"Content-Type": "text/plain;charset=UTF-8"}
	if r := e.do("POST", "/events?encoding=gzip", gzipped(t, []byte(body(tid, okEvent))), plain); r.status != 200 {
		t.Fatalf("gzip body named in the query: %d %q", r.status, r.message)
	}
	if r := e.do("POST", "/events?encoding=gzip", []byte(body(tid, okEvent)), plain); r.status != 400 || r.message != "body: not valid gzip" {
		t.Errorf("plain body named gzip: %d %q", r.status, r.message)
	}
	if n := len(e.rows()); n != 1 {
		t.Errorf("stored %d, want 1", n)
	}
}
