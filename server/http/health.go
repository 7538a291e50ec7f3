package http

import (
	"context"
	"net/http"
	"time"
)

// serveHealth answers /healthz (the process runs) and /readyz (the store
// takes writes).
func (h *Handler) serveHealth(w http.ResponseWriter, r *http.Request, path string) {
	if path == "/readyz" {
		if p, ok := h.cfg.Store.(interface{ Ping(context.Context) error }); ok {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := p.Ping(ctx); err != nil {
				h.log.WarnContext(r.Context(), "not ready", "err", err)
				w.Header().Set("Cache-Control", "no-store")
				w.Header().Set("Retry-After", retryAfterUnavailable)
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "message": err.Error()})
				return
			}
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
