package http_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server/relay"
)

// TestRelayAdminAPI links, shows and unlinks a tracker's relay through the
// admin API, on a real store.
func TestRelayAdminAPI(t *testing.T) {
	e := dashEnv(t, adminToken)
	tid := e.tracker()
	put := func(id, body string) response {
		return e.do("PUT", "/v1/relay/"+id, []byte(body), auth)
	}
	if r := e.do("GET", "/v1/relay", nil, nil); r.status != 401 {
		t.Errorf("without the token: %d", r.status)
	}
	for _, tt := range []struct {
		id, body string
		status   int
		msg      string
	}{
		{tid, `{"personalizeTrackingId":"pz","region":"Mars"}`, 400, "region"},
		{tid, `{"region":"eu-west-1"}`, 400, "personalizeTrackingId"},
		{tid, `{"personalizeTrackingId":"pz","region":"eu-west-1","endpoint":"ftp://x"}`, 400, "endpoint"},
		{tid, `not json`, 400, "body"},
		{"tk_nope", `{"personalizeTrackingId":"pz","region":"eu-west-1"}`, 404, "tk_nope"},
		{tid, `{"personalizeTrackingId":"pz","region":"eu-west-1","endpoint":"http://127.0.0.1:1/"}`, 200, ""},
	} {
		r := put(tt.id, tt.body)
		if r.status != tt.status || !strings.Contains(r.message, tt.msg) {
			t.Errorf("PUT %s %s: %d %q, want %d naming %q", tt.id, tt.body, r.status, r.message, tt.status, tt.msg)
		}
	}
	e.post(body(tid, okEvent, okEvent), nil)
	db := e.db
	if err := db.Advance(context.Background(), tid, 1, 0, []*relay.Refusal{{TrackingID: tid, At: time.UnixMilli(1e12),
		FirstSeq: 1, LastSeq: 1, EventIDs: []string{"ev-1"}, Status: 400, ErrorType: "InvalidInputException", Message: "bad"}},
		time.UnixMilli(1e12)); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/v1/relay", nil, auth)
	var got struct {
		Links    []relay.StatusJSON
		Refusals []relay.RefusalJSON
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != 200 {
		t.Fatalf("GET /v1/relay: %d %s", r.status, r.body)
	}
	if len(got.Links) != 1 {
		t.Fatalf("links %+v", got.Links)
	}
	l := got.Links[0]
	if l.TrackingID != tid || l.URL != "http://127.0.0.1:1/events" || l.State != "relaying" || l.Pending != 1 ||
		l.Cursor != 1 || l.Refused != 1 {
		t.Errorf("link %+v", l)
	}
	if len(got.Refusals) != 1 || got.Refusals[0].EventIDs[0] != "ev-1" || got.Refusals[0].ErrorType != "InvalidInputException" {
		t.Errorf("refusals %+v", got.Refusals)
	}
	if r := e.do("DELETE", "/v1/relay/"+tid, nil, auth); r.status != 204 {
		t.Errorf("DELETE: %d %s", r.status, r.message)
	}
	if r := e.do("DELETE", "/v1/relay/"+tid, nil, auth); r.status != 404 {
		t.Errorf("DELETE again: %d", r.status)
	}
	if r := e.do("POST", "/v1/relay", nil, auth); r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /v1/relay: %d Allow %q", r.status, r.header.Get("Allow"))
	}
}
