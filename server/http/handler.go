// Package http serves the collector's HTTP API: PutEvents at /events
// (events.go), the tracker's browser assets, the demo site, the
// dashboard's page, and (with a token) the admin API under /v1 (admin.go).
//
// It talks to storage only through the interfaces of package server and
// the small ones declared here (TrackerAdmin, Feed, RelayAdmin), so that the
// same handler serves from SQLite or from any other store, and a build
// that leaves a part out (the Cloudflare Worker has no live feed and no
// relay) links none of its code.
package http

import (
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
)

// Config is what NewHandler needs. Store is required; the rest is optional.
type Config struct {
	Store server.Store
	// Rejected, if set, keeps the requests the collector refuses.
	Rejected server.RejectionLog

	// Assets holds a build of the tracker's browser files (web/dist: the
	// manifest `make wasm` writes and the files it lists, see package
	// server/assets), served at the root.
	Assets fs.FS
	// LoaderMaxAge is how long browsers may use tracklet.js and
	// tracklet.mjs without asking: 0 means DefaultLoaderMaxAge, a negative
	// value has them revalidated on every visit.
	LoaderMaxAge time.Duration
	// Demo, if set, serves the demo site under /demo/ (see package
	// server/demo); it sees paths with /demo stripped.
	Demo http.Handler
	// DashboardPage, if set, is the dashboard's static page
	// (web.Dashboard(): index.html, dashboard.js, dashboard.css), served
	// at /dashboard; everything it shows comes from the admin API.
	DashboardPage fs.FS

	// AdminToken guards the admin API (/v1/...) as a Bearer token. Empty
	// switches the API off: every call is answered 401.
	AdminToken string
	// The stores behind the admin API (see admin.go); a route whose store
	// is nil answers 501. Admin serves /v1/events, /v1/stats and
	// /v1/rejected; Trackers /v1/trackers; Dashboard /v1/traffic and the
	// backlog of /v1/stream; Feed /v1/stream's live events; Relay
	// /v1/relay.
	Admin     server.Admin
	Trackers  TrackerAdmin
	Dashboard server.DashboardReader
	Feed      Feed
	Relay     RelayAdmin
	// Routes are more admin routes, served by packages this one does not
	// link (the Worker's archive), behind the same token check.
	Routes []Route
	// SigV4, if set, verifies the signatures of trackers that require
	// AWS SigV4 (see sigv4.go); without it their requests are refused.
	SigV4 SigV4

	Logger *slog.Logger
	// AccessLog logs every request (never a body) at Info level.
	AccessLog bool
	// Observer, if set, is told about every request and stored batch,
	// for metrics. Metrics, if set, is served at /metrics.
	Observer Observer
	Metrics  http.Handler
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Limits bound what one request may carry. Zero fields take defaults.
	Limits Limits
	// RateLimits bound how fast clients and trackers may send.
	RateLimits RateLimits
	// Proxies says how to find the client's address behind reverse proxies.
	Proxies Proxies
}

// Observer hears what the handler does, for metrics. It is an interface so
// that builds without metrics (the Cloudflare Worker) link no Prometheus.
type Observer interface {
	// Request is called once per request with its route ("events",
	// "preflight", "asset", "admin", ...), status and duration.
	Request(route string, status int, d time.Duration)
	// Events counts the events of a PutEvents request: stored, dropped as
	// duplicates, or refused with the request.
	Events(accepted, duplicates, rejected int)
	// RateLimited counts a request refused with 429; scope is "ip" or
	// "tracker".
	RateLimited(scope string)
}

// Limits bound requests. The zero value of each field means its default.
type Limits struct {
	// MaxBodyBytes bounds a request body as sent (compressed or not).
	// Default 1 MiB.
	MaxBodyBytes int64
	// MaxDecodedBytes bounds a compressed body once decompressed, so that
	// a small gzip bomb is refused before it costs memory. Default 1 MiB.
	MaxDecodedBytes int64
}

// DefaultMaxBodyBytes is the default of Limits.MaxBodyBytes and
// Limits.MaxDecodedBytes: ten events at every PutEvents maximum, JSON
// escaping included, fit several times over.
const DefaultMaxBodyBytes = 1 << 20

func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.MaxDecodedBytes <= 0 {
		l.MaxDecodedBytes = DefaultMaxBodyBytes
	}
	return l
}

// Handler is the collector's HTTP API. Create it with NewHandler.
type Handler struct {
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	limits Limits
	assets *assetFiles
	demo   http.Handler

	mux *http.ServeMux // the admin API and the dashboard's page
	// dups counts duplicates per tracker for /v1/traffic; traffic caches
	// its reads.
	dups    *dupCounter
	traffic *statsCache

	ipLimits      *limiterSet[netip.Addr]
	trackerLimits *limiterSet[string]
	started       time.Time
	warnedProxy   atomic.Bool // see warnUntrustedProxy
	stats         struct {
		requests, accepted, duplicates, rejected, limited atomic.Int64
	}
}

// NewHandler returns the collector's handler for cfg.
func NewHandler(cfg Config) *Handler {
	h := &Handler{cfg: cfg, log: cfg.Logger, now: cfg.Now, limits: cfg.Limits.withDefaults()}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if cfg.Assets != nil {
		h.assets = newAssets(cfg.Assets, cfg.LoaderMaxAge)
	}
	if cfg.Demo != nil {
		h.demo = http.StripPrefix("/demo", cfg.Demo)
	}
	rl := cfg.RateLimits
	h.ipLimits = newLimiterSet[netip.Addr](rl.PerIP, rl.IPBurst, rl.MaxEntries)
	// A burst below one full request would refuse every full request.
	h.trackerLimits = newLimiterSet[string](rl.PerTracker, max(burstFor(rl.PerTracker, rl.TrackerBurst), event.MaxEvents), rl.MaxEntries)
	h.started = h.now()
	h.dups, h.traffic = newDupCounter(), newStatsCache(time.Now)
	h.mux = h.newMux()
	return h
}

// ServeHTTP routes by hand rather than with http.ServeMux: a PutEvents
// client whose endpoint ends in a slash posts to "//events", and ServeMux
// would answer that with a redirect, which such clients do not follow.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h.stats.requests.Add(1)
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	rec.Header().Set("x-amzn-RequestId", uuid.NewString())
	path := collapseSlashes(r.URL.Path)
	route := h.route(rec, r, path)
	d := time.Since(start)
	if h.cfg.Observer != nil {
		h.cfg.Observer.Request(route, rec.status, d)
	}
	if h.cfg.AccessLog {
		attrs := []slog.Attr{
			slog.String("method", r.Method), slog.String("path", path), slog.Int("status", rec.status),
			slog.Int64("bytes", rec.bytes), slog.Float64("ms", float64(d.Microseconds())/1000),
			slog.String("ip", logAddr(h.clientIP(r), r)), slog.String("request_id", rec.Header().Get("x-amzn-RequestId")),
		}
		// What the client sent is cut as a rejection's values are: a log
		// line must not carry a megabyte trackingId.
		if rec.trackingID != "" {
			attrs = append(attrs, slog.String("tracking_id", server.CutUTF8(rec.trackingID, server.MaxRejectedTrackingID)),
				slog.Int("events", rec.events))
		}
		if o := r.Header.Get("Origin"); o != "" {
			attrs = append(attrs, slog.String("origin", server.CutUTF8(o, server.MaxRejectedOrigin)))
		}
		attrs = append(attrs, slog.String("proto", r.Proto)) // HTTP/1.1, or HTTP/2.0 over TLS or h2c
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	}
}

func (h *Handler) route(w *recorder, r *http.Request, path string) string {
	switch {
	case isEventsPath(path) && r.Method == http.MethodPost:
		h.serveEvents(w, r)
		return "events"
	case isEventsPath(path) && r.Method == http.MethodOptions:
		h.preflight(w, r)
		return "preflight"
	case isEventsPath(path):
		w.Header().Set("Allow", "POST, OPTIONS")
		WriteError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "use POST to send events")
		return "events"
	case strings.HasPrefix(path, "/v1/"):
		h.serveMux(w, withPath(r, path))
		return "admin"
	case path == "/healthz" || path == "/readyz":
		h.serveHealth(w, r, path)
		return "health"
	case path == "/metrics" && h.cfg.Metrics != nil:
		h.cfg.Metrics.ServeHTTP(w, r)
		return "metrics"
	case h.cfg.DashboardPage != nil && (path == "/dashboard" || strings.HasPrefix(path, "/dashboard/")):
		h.serveMux(w, withPath(r, path))
		return "dashboard"
	case path == "/demo" && h.demo != nil:
		http.Redirect(w, r, "/demo/", http.StatusFound)
		return "demo"
	case strings.HasPrefix(path, "/demo/") && h.demo != nil:
		r.URL.Path = path
		h.demo.ServeHTTP(w, r)
		return "demo"
	case path == "/" && h.demo != nil:
		http.Redirect(w, r, "/demo/", http.StatusFound)
		return "demo"
	case h.assets != nil && h.assets.has(path):
		h.assets.serve(w, r, path)
		return "asset"
	case serveUnsupported(w, path):
		return "unsupported"
	}
	WriteError(w, http.StatusNotFound, CodeNoSuchPath, "no such resource: "+path)
	return "other"
}

// withPath returns r with its path's slashes collapsed, as routing saw it.
func withPath(r *http.Request, path string) *http.Request {
	if path != r.URL.Path {
		r.URL.Path, r.URL.RawPath = path, ""
	}
	return r
}

// logAddr is the client's address as the access log shows it: the derived
// one, or the peer's text when it has none.
func logAddr(a netip.Addr, r *http.Request) string {
	if !a.IsValid() {
		return r.RemoteAddr
	}
	return a.String()
}

// isEventsPath reports whether PutEvents answers path (slashes collapsed):
// "/events", or "/<base>/events" for an AWS SDK whose endpoint has a base
// path (an endpoint ending in a slash posts to "/<base>//events", which
// collapses to the same). The base is one segment and none of the
// collector's own: "/v1/dashboard/events" or "/demo/x/events" are not
// PutEvents.
func isEventsPath(path string) bool {
	if path == "/events" {
		return true
	}
	base, ok := strings.CutSuffix(path, "/events")
	if !ok || len(base) < 2 || strings.IndexByte(base[1:], '/') >= 0 {
		return false
	}
	switch base[1:] {
	case "v1", "demo", "dashboard", "metrics", "healthz", "readyz":
		return false
	}
	return true
}

// recorder remembers what was answered, for the access log and metrics.
type recorder struct {
	http.ResponseWriter
	status     int
	bytes      int64
	wrote      bool
	trackingID string // of a PutEvents request, once known
	events     int
	body       []byte // of a PutEvents request, once read
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Flush and Unwrap keep streaming responses (the dashboard's live feed)
// working through the recorder.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// collapseSlashes turns every run of slashes into one.
func collapseSlashes(p string) string {
	if !strings.Contains(p, "//") {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// Error codes, the x-amzn-ErrorType of an error answer (WriteError): the
// names AWS SDKs know where there is an AWS equivalent.
const (
	CodeInvalidInput     = "InvalidInputException"
	CodeNotFound         = "ResourceNotFoundException" // a tracker, a file
	CodeNoSuchPath       = "NotFoundException"         // a path nothing answers
	CodeAccessDenied     = "AccessDeniedException"
	CodeTooLarge         = "PayloadTooLargeException"
	CodeUnsupported      = "UnsupportedMediaTypeException"
	CodeUnknownOperation = "UnknownOperationException"
	CodeMethodNotAllowed = "MethodNotAllowedException"
	CodeThrottling       = "ThrottlingException"
	CodeUnauthorized     = "UnauthorizedException"
	CodeNotImplemented   = "NotImplementedException"
	CodeInternal         = "InternalFailure"
	CodeUnavailable      = "ServiceUnavailableException"
)

// WriteError answers an error in the one shape of every route, PutEvents
// and admin API alike: the shape AWS SDKs parse, a JSON body
// {"message": ...} and the error's name in x-amzn-ErrorType.
func WriteError(w http.ResponseWriter, status int, errorType, message string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-amzn-ErrorType", errorType)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Message string `json:"message"`
	}{message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
