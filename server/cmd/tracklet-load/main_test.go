package main

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tracklet/tracklet/event"
)

// The load must be real PutEvents requests: every body the generator
// builds decodes and validates with the collector's own code, and carries
// distinct eventIds of the asked-for UUID version, so that no event is
// counted as a duplicate.
func TestAppendBodyIsAValidRequest(t *testing.T) {
	now := time.UnixMilli(1714979289123)
	for _, tc := range []struct {
		n       int
		newID   func() uuid.UUID
		version uuid.Version
	}{
		{1, uuid.New, 4},
		{10, func() uuid.UUID { return uuid.Must(uuid.NewV7()) }, 7},
	} {
		b := appendBody(nil, "tk_x", 7, tc.n, now, tc.newID)
		r, err := event.DecodeRequest(b)
		if err != nil {
			t.Fatalf("%d events: %v\n%s", tc.n, err, b)
		}
		if r.TrackingID != "tk_x" || r.SessionID != "c7" || r.UserID == nil || *r.UserID != "u7" || len(r.EventList) != tc.n {
			t.Fatalf("%d events: decoded %+v", tc.n, r)
		}
		seen := map[string]bool{}
		for k, e := range r.EventList {
			id, err := uuid.Parse(*e.EventID)
			if err != nil || id.Version() != tc.version || seen[*e.EventID] {
				t.Fatalf("event %d: eventId %s (%v), want a new UUIDv%d", k, *e.EventID, err, tc.version)
			}
			seen[*e.EventID] = true
			if e.SentAt.Time().UnixMilli() != now.UnixMilli() || *e.Properties != `{"numberOfRatings":"12"}` {
				t.Fatalf("event %d: %+v", k, e)
			}
		}
	}
}

// The thin client speaks enough HTTP/1.1 to a real net/http server: it
// reads bodies sized by Content-Length or chunked, reuses the connection,
// and reconnects when the server closes it.
func TestConnAgainstNetHTTP(t *testing.T) {
	var conns, requests int
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests++
			body, _ := io.ReadAll(r.Body)
			if r.Method != http.MethodPost || r.URL.Path != "/events" || r.Header.Get("Content-Type") != "application/json" {
				http.Error(w, "bad request line or headers", http.StatusBadRequest)
				return
			}
			switch string(body) {
			case "chunked":
				w.Write([]byte(strings.Repeat("x", 5000))) // too big to be sized: chunked
				w.(http.Flusher).Flush()
				w.Write([]byte("end"))
			case "close":
				w.Header().Set("Connection", "close")
				w.WriteHeader(http.StatusTooManyRequests)
			default:
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.Write(body)
			}
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns++
			}
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	c := &conn{addr: ln.Addr().String(), host: ln.Addr().String(), timeout: 5 * time.Second}
	for i, tc := range []struct {
		body   string
		status int
	}{
		{"plain", 200}, {"chunked", 200}, {"plain", 200}, {"close", 429}, {"plain", 200},
	} {
		status, err := c.post("/events", []byte(tc.body))
		if err != nil || status != tc.status {
			t.Fatalf("request %d (%s): %d, %v; want %d", i, tc.body, status, err, tc.status)
		}
	}
	if requests != 5 || conns != 2 {
		t.Fatalf("%d requests on %d connections, want 5 on 2 (one reconnect after Connection: close)", requests, conns)
	}
}
