package http

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Every admin route, those of this package and those given in
// Config.Routes, is listed from the handler's own table, so that a route
// added later is checked too: each reads the Authorization header the same
// way and refuses with the same 401, in the one error shape.
func TestEveryAdminRouteRefusesWithoutTheToken(t *testing.T) {
	const token = "s3cret-admin-token"
	extra := Route{"GET /v1/extra/{name}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"name": r.PathValue("name")})
	})}
	accepted := []string{
		"Bearer " + token,
		"bearer " + token, // RFC 7235 §2.1: the scheme is case-insensitive
		"BEARER " + token,
		"Bearer   " + token, // 1*SP
		"Bearer " + token + " ",
	}
	refused := []string{
		"",
		"Bearer",
		"Bearer ",
		"Bearer wrong",
		"Bearer " + token + "x",
		"Bearer " + token[:len(token)-1],
		"Basic " + token,
		"Bearer" + token,
		token,
		"Token " + token,
	}
	for _, tt := range []struct {
		name, token string
		refused     []string
		wantMessage string
	}{
		{"with a token", token, refused, "this API needs the admin token: send Authorization: Bearer <admin token>"},
		{"without one", "", append(refused, accepted...), "the admin API is off: start the collector with --admin-token (TRACKLET_ADMIN_TOKEN)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHandler(Config{AdminToken: tt.token, Routes: []Route{extra}})
			srv := httptest.NewServer(h)
			defer srv.Close()
			routes := append(h.adminRoutes(), extra)
			if len(routes) < 12 {
				t.Fatalf("only %d admin routes", len(routes))
			}
			for _, rt := range routes {
				method, path, _ := strings.Cut(rt.Pattern, " ")
				path = strings.NewReplacer("{trackingId}", "tk_x", "{name}", "x").Replace(path)
				for _, a := range tt.refused {
					status, hd, msg := call(t, srv, method, path, a)
					if status != http.StatusUnauthorized || msg != tt.wantMessage ||
						hd.Get("WWW-Authenticate") != `Bearer realm="tracklet"` || hd.Get("x-amzn-ErrorType") != CodeUnauthorized ||
						hd.Get("Cache-Control") != "no-store" {
						t.Errorf("%s %s with %q: %d %q, headers %v; want the one 401", method, path, a, status, msg, hd)
					}
				}
				if tt.token == "" {
					continue
				}
				// Past the check, the stores this handler lacks answer 501;
				// the extra route, which needs none, 200.
				want := http.StatusNotImplemented
				if rt.Pattern == extra.Pattern {
					want = http.StatusOK
				}
				for _, a := range accepted {
					if status, _, msg := call(t, srv, method, path, a); status != want {
						t.Errorf("%s %s with %q: %d %q, want %d past the token check", method, path, a, status, msg, want)
					}
				}
			}
		})
	}
}

// call sends one request and returns its status, headers and the message
// of its JSON error body, if any.
func call(t *testing.T, srv *httptest.Server, method, path, authorization string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Message string }
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(data, &body); err != nil {
			t.Errorf("%s %s: %d, body %q is not a JSON error", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode, resp.Header, body.Message
}

// Unknown paths and methods under /v1 are answered in the API's JSON error
// shape, with the Allow header ServeMux derives from the patterns.
func TestAdminAPIAnswersUnknownRoutesInJSON(t *testing.T) {
	srv := httptest.NewServer(NewHandler(Config{AdminToken: "t"}))
	defer srv.Close()
	for _, tt := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/v1/nope", http.StatusNotFound, CodeNoSuchPath, ""},
		{"GET", "/v1/dashboard/stats", http.StatusNotFound, CodeNoSuchPath, ""},
		{"GET", "/v1/dashboard/rejected", http.StatusNotFound, CodeNoSuchPath, ""},
		{"PUT", "/v1/events", http.StatusMethodNotAllowed, CodeMethodNotAllowed, "DELETE, GET, HEAD"},
		{"DELETE", "/v1/trackers", http.StatusMethodNotAllowed, CodeMethodNotAllowed, "GET, HEAD, POST"},
		{"POST", "/v1/stream", http.StatusMethodNotAllowed, CodeMethodNotAllowed, "GET, HEAD"},
		{"POST", "/v1/relay", http.StatusMethodNotAllowed, CodeMethodNotAllowed, "GET, HEAD"},
		{"GET", "/v1/relay/tk_x", http.StatusMethodNotAllowed, CodeMethodNotAllowed, "DELETE, PUT"},
	} {
		status, hd, msg := call(t, srv, tt.method, tt.path, "Bearer t")
		if status != tt.status || hd.Get("x-amzn-ErrorType") != tt.code || hd.Get("Allow") != tt.allow || msg == "" {
			t.Errorf("%s %s: %d %s Allow %q %q; want %d %s Allow %q", tt.method, tt.path, status,
				hd.Get("x-amzn-ErrorType"), hd.Get("Allow"), msg, tt.status, tt.code, tt.allow)
		}
	}
}

// Routes of other packages must be admin routes: under /v1/, with a method.
func TestRoutesOutsideV1AreRefused(t *testing.T) {
	for _, p := range []string{"GET /dashboard/x", "/v1/x", "GET /events"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewHandler took the route %q", p)
				}
			}()
			NewHandler(Config{Routes: []Route{{p, http.NotFoundHandler()}}})
		}()
	}
}
