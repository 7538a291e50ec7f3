package http_test

import (
	"net/http"
	"strings"
	"testing"

	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/sqlite"
)

// Every admin route, the collector's and the dashboard's, reads the
// Authorization header the same way and refuses with the same 401.
func TestEveryAdminRouteSharesOneBearerCheck(t *testing.T) {
	e := dashEnv(t, adminToken)
	// dashEnv mounts only the dashboard's API; add the collector's.
	e2 := newEnv(t, func(c *trackhttp.Config) { c.AdminToken, c.Admin = adminToken, c.Store.(*sqlite.DB) })
	tid := e.tracker()
	routes := []struct {
		e            *env
		method, path string
	}{
		{e2, "GET", "/v1/events"},
		{e2, "DELETE", "/v1/events?trackingId=none"},
		{e2, "GET", "/v1/stats"},
		{e2, "GET", "/v1/rejected"},
		{e, "GET", "/v1/trackers"},
		{e, "GET", "/v1/dashboard/stats?tracker=" + tid},
		{e, "GET", "/v1/dashboard/rejected?tracker=" + tid},
	}
	accepted := []string{
		"Bearer " + adminToken,
		"bearer " + adminToken, // RFC 7235 §2.1: the scheme is case-insensitive
		"BEARER " + adminToken,
		"Bearer   " + adminToken, // 1*SP
		"Bearer " + adminToken + " ",
	}
	refused := []string{
		"",
		"Bearer",
		"Bearer ",
		"Bearer wrong",
		"Bearer " + adminToken + "x",
		"Bearer " + adminToken[:len(adminToken)-1],
		"Basic " + adminToken,
		"Bearer" + adminToken,
		adminToken,
		"Token " + adminToken,
	}
	var message string
	for _, rt := range routes {
		for _, a := range accepted {
			if r := rt.e.do(rt.method, rt.path, nil, map[string]string{"Authorization": a}); r.status != http.StatusOK {
				t.Errorf("%s %s with %q: %d %q, want 200", rt.method, rt.path, a, r.status, r.message)
			}
		}
		for _, a := range refused {
			r := rt.e.do(rt.method, rt.path, nil, map[string]string{"Authorization": a})
			if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != `Bearer realm="tracklet"` {
				t.Errorf("%s %s with %q: %d, WWW-Authenticate %q; want 401 with the Bearer challenge",
					rt.method, rt.path, a, r.status, r.header.Get("WWW-Authenticate"))
			}
			if message == "" {
				message = r.message
			}
			if r.message != message {
				t.Errorf("%s %s: 401 says %q, another admin route says %q: want one text", rt.method, rt.path, r.message, message)
			}
		}
	}
	if !strings.Contains(message, "Authorization: Bearer") {
		t.Errorf("401 message %q does not say what to send", message)
	}
}

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
