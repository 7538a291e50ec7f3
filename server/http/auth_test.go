package http_test

import (
	"net/http"
	"testing"
)

// Only "/events" and one base-path segment before it are PutEvents; other
// paths that happen to end in /events are not.
func TestPutEventsOnlyOnItsPaths(t *testing.T) {
	e := dashEnv(t, adminToken)
	tid := e.tracker()
	for _, path := range []string{"/events", "//events", "/base/events", "/base//events", "//base//events"} {
		if r := e.do("POST", path, []byte(body(tid, okEvent)), nil); r.status != http.StatusOK {
			t.Errorf("POST %s: %d %q, want 200", path, r.status, r.message)
		}
	}
	for _, path := range []string{"/v1/dashboard/events", "/demo/x/events", "/a/b/events", "/v1/events/events",
		"/dashboard/events", "/demo/events", "/v1//events", "/eventsx", "/xevents", "/events/"} {
		r := e.do("POST", path, []byte(body(tid, okEvent)), auth)
		if r.status == http.StatusOK || r.header.Get("X-Tracklet-Accepted") != "" {
			t.Errorf("POST %s: %d, X-Tracklet-Accepted %q: treated as PutEvents", path, r.status, r.header.Get("X-Tracklet-Accepted"))
		}
	}
	if n := len(e.rows()); n != 5 {
		t.Errorf("stored %d events, want the 5 posted to PutEvents paths", n)
	}
}
