// Package http serves the collector's HTTP API: PutEvents at /events, the
// tracker's browser assets, the demo site, and (with a token) the admin API.
//
// It talks to storage only through the interfaces of package server, so
// that the same handler serves from SQLite or from any other store.
package http

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tracklet/tracklet/server"
)

// Config is what NewHandler needs. Store is required; the rest is optional.
type Config struct {
	Store server.Store
	// Rejected, if set, keeps the requests the collector refuses.
	Rejected server.RejectionLog

	// Assets holds the tracker's browser files (tracklet.js, tracklet.wasm,
	// wasm_exec.js and their .gz/.br forms), served at the root.
	Assets fs.FS
	// Demo, if set, is served under /demo/; its .html files are templates
	// given DemoData.
	Demo           fs.FS
	DemoTrackingID string

	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Limits bound what one request may carry. Zero fields take defaults.
	Limits Limits
}

// DemoData is what the demo site's templates get.
type DemoData struct {
	TrackingID string
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
	assets *assets
	demo   *demoSite
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
		h.assets = newAssets(cfg.Assets)
	}
	if cfg.Demo != nil {
		h.demo = &demoSite{fsys: cfg.Demo, data: DemoData{TrackingID: cfg.DemoTrackingID}}
	}
	return h
}

// ServeHTTP routes by hand rather than with http.ServeMux: a PutEvents
// client whose endpoint ends in a slash posts to "//events", and ServeMux
// would answer that with a redirect, which such clients do not follow.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	path := collapseSlashes(r.URL.Path)
	switch {
	case strings.HasSuffix(path, "/events") && (r.Method == http.MethodPost || r.Method == http.MethodOptions):
		h.serveEvents(w, r)
	case path == "/events":
		w.Header().Set("Allow", "POST, OPTIONS")
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowedException", "use POST to send events")
	case path == "/demo" && h.demo != nil:
		http.Redirect(w, r, "/demo/", http.StatusFound)
	case strings.HasPrefix(path, "/demo/") && h.demo != nil:
		h.demo.serve(w, r, strings.TrimPrefix(path, "/demo/"))
	case path == "/" && h.demo != nil:
		http.Redirect(w, r, "/demo/", http.StatusFound)
	case h.assets != nil && h.assets.has(path):
		h.assets.serve(w, r, path)
	default:
		writeError(w, http.StatusNotFound, "NotFoundException", "no such resource: "+path)
	}
}

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

// writeError answers in the shape AWS SDKs parse: a JSON body with a
// message and the error's name in x-amzn-ErrorType.
func writeError(w http.ResponseWriter, status int, errorType, message string) {
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

// detach returns a context that keeps ctx's values but not its
// cancellation, for work that must finish even if the client goes away.
func detach(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }
