package http

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/tracklet/tracklet/event"
)

// The admin API: every route under /v1, each behind the one admin-token
// check (requireAdmin), each naming a tracker ?trackingId= as PutEvents
// does, each answering errors as PutEvents does (WriteError).
//
//	GET    /v1/events?trackingId=&since=&until=&after=&limit=&format=   stored events (admin_events.go)
//	DELETE /v1/events?trackingId=                                      delete them
//	GET    /v1/stats                                                   the collector's counters, every tracker's totals
//	GET    /v1/rejected?trackingId=&limit=                             refused requests, newest first
//	GET    /v1/trackers                                                trackers (admin_trackers.go)
//	POST   /v1/trackers                                                create one
//	GET    /v1/traffic?trackingId=                                     a tracker's last hour (admin_traffic.go)
//	GET    /v1/stream?trackingId=&eventType=&userId=&sessionId=        events as stored, Server-Sent Events (admin_stream.go)
//	GET    /v1/relay                                                   the relay to Personalize (admin_relay.go)
//	PUT    /v1/relay/{trackingId}                                      link a tracker
//	DELETE /v1/relay/{trackingId}                                      unlink it
//
// and Config.Routes, the routes of packages this one does not link (the
// Worker's archive). A route whose store is not configured answers 501.
func (h *Handler) adminRoutes() []Route {
	admin, trackers, dash, feed, relay := h.cfg.Admin != nil, h.cfg.Trackers != nil,
		h.cfg.Dashboard != nil, h.cfg.Feed != nil && h.cfg.Dashboard != nil, h.cfg.Relay != nil
	return []Route{
		{"GET /v1/events", needs(admin, "admin store", h.adminEvents)},
		{"DELETE /v1/events", needs(admin, "admin store", h.deleteEvents)},
		{"GET /v1/stats", needs(admin, "admin store", h.adminStats)},
		{"GET /v1/rejected", needs(admin, "admin store", h.adminRejected)},
		{"GET /v1/trackers", needs(trackers, "tracker store", h.listTrackers)},
		{"POST /v1/trackers", needs(trackers, "tracker store", h.createTracker)},
		{"GET /v1/traffic", needs(dash, "dashboard store", h.serveTraffic)},
		{"GET /v1/stream", needs(feed, "live stream", h.serveStream)},
		{"GET /v1/relay", needs(relay, "relay to Personalize", h.serveRelay)},
		{"PUT /v1/relay/{trackingId}", needs(relay, "relay to Personalize", h.linkRelay)},
		{"DELETE /v1/relay/{trackingId}", needs(relay, "relay to Personalize", h.unlinkRelay)},
	}
}

// needs returns next if the collector has what it serves (ok), else a
// handler that answers 501 naming what is missing (the Worker has no live
// feed and no relay).
func needs(ok bool, what string, next http.HandlerFunc) http.Handler {
	if ok {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotImplemented, CodeNotImplemented, "this collector has no "+what)
	})
}

// Route is one route of the admin API: a ServeMux pattern with its method
// ("GET /v1/archive") under /v1/, and its handler, which the mux calls
// only with the admin token.
type Route struct {
	Pattern string
	Handler http.Handler
}

// newMux returns the mux of the admin API and of the dashboard's page.
func (h *Handler) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range append(h.adminRoutes(), h.cfg.Routes...) {
		_, path, _ := strings.Cut(rt.Pattern, " ")
		if !strings.HasPrefix(path, "/v1/") {
			panic("http: admin route " + rt.Pattern + " is not a method and a path under /v1/")
		}
		mux.Handle(rt.Pattern, requireAdmin(h.cfg.AdminToken, rt.Handler))
	}
	if h.cfg.DashboardPage != nil {
		for _, p := range []string{"GET /dashboard", "GET /dashboard/{$}", "GET /dashboard/{file}"} {
			mux.HandleFunc(p, h.serveDashboardPage)
		}
	}
	return mux
}

// serveMux answers a request for the admin API or the dashboard's page.
// ServeMux would answer an unknown path or method in plain text; clients of
// the API read JSON errors, so those two answers are rewritten as such
// (keeping the Allow header ServeMux computes from the patterns).
func (h *Handler) serveMux(w http.ResponseWriter, r *http.Request) {
	handler, pattern := h.mux.Handler(r)
	if pattern != "" {
		h.mux.ServeHTTP(w, r) // which, unlike Handler, sets r's path values
		return
	}
	probe := &headerProbe{header: http.Header{}}
	handler.ServeHTTP(probe, r)
	if allow := probe.header.Get("Allow"); probe.status == http.StatusMethodNotAllowed && allow != "" {
		w.Header().Set("Allow", allow)
		WriteError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "use "+allow)
		return
	}
	WriteError(w, http.StatusNotFound, CodeNoSuchPath, "no such resource: "+r.URL.Path)
}

// headerProbe keeps the status and headers of ServeMux's own error answer
// and drops its plain-text body.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) WriteHeader(status int)      { p.status = status }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }

// TrackingIDParam reads ?trackingId=, the one name the API gives a tracker,
// as PutEvents does. Without required, it may be absent (meaning every
// tracker); otherwise a missing one is answered 400 and ok is false.
func TrackingIDParam(w http.ResponseWriter, r *http.Request, required bool) (id string, ok bool) {
	id = r.URL.Query().Get("trackingId")
	if !required && id == "" {
		return "", true
	}
	if event.CheckID("trackingId", id) != nil {
		WriteError(w, http.StatusBadRequest, CodeInvalidInput, "trackingId: give the tracker's trackingId, e.g. ?trackingId=tk_...")
		return "", false
	}
	return id, true
}

// intParam reads the non-negative integer query parameter name, def if
// absent; maxV < 0 means no maximum. A bad value is answered 400 naming
// the parameter, and ok is false.
func intParam(w http.ResponseWriter, r *http.Request, name string, def, maxV int) (n int, ok bool) {
	n, err := queryInt(r.URL.Query().Get(name), def, maxV)
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeInvalidInput, name+": "+err.Error())
		return 0, false
	}
	return n, true
}

func queryInt(s string, def, maxV int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errors.New("not a non-negative whole number")
	}
	if maxV >= 0 && n > maxV {
		return 0, errors.New("at most " + strconv.Itoa(maxV))
	}
	return n, nil
}
