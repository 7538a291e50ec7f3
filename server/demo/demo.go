// Package demo serves the demo site: static files whose .html pages are
// templates given the demo tracker's id. It lives apart from package http so
// that builds without a demo (the Cloudflare Worker) link no html/template.
package demo

import (
	"bytes"
	"encoding/json"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// Data is what the demo site's templates get.
type Data struct {
	TrackingID string
}

// Handler serves fsys at its root; "/" and directories serve index.html.
type Handler struct {
	fsys fs.FS
	data Data
}

// NewHandler returns a handler for the demo site in fsys.
func NewHandler(fsys fs.FS, data Data) *Handler { return &Handler{fsys: fsys, data: data} }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if name == "" || strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	if !fs.ValidPath(name) {
		notFound(w, name)
		return
	}
	data, err := fs.ReadFile(h.fsys, name)
	if err != nil {
		notFound(w, name)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-cache")
	if path.Ext(name) == ".html" {
		tmpl, err := template.New(name).Parse(string(data))
		if err == nil {
			var buf bytes.Buffer
			if err = tmpl.Execute(&buf, h.data); err == nil {
				data = buf.Bytes()
			}
		}
		if err != nil {
			http.Error(w, "demo page "+name+": "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func notFound(w http.ResponseWriter, name string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	json.NewEncoder(w).Encode(map[string]string{"message": "no such page: " + name})
}
