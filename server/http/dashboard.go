package http

import (
	"io/fs"
	"net/http"
)

// serveDashboardPage serves the dashboard's static page (Config.
// DashboardPage) at /dashboard. It holds no data, so it needs no token:
// without one it shows a sign-in form, and everything it shows comes from
// the admin API, which does.
func (h *Handler) serveDashboardPage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "" {
		name = "index.html"
	}
	data, err := fs.ReadFile(h.cfg.DashboardPage, name)
	if err != nil {
		WriteError(w, http.StatusNotFound, CodeNoSuchPath, "no such resource: "+r.URL.Path)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", contentType(name))
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	// Defence in depth behind the page's own rule (values only ever
	// become text): no inline script, no foreign origin, no framing.
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	hd.Set("X-Frame-Options", "DENY")
	w.Write(data)
}
