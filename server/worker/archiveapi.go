package worker

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tracklet/tracklet/server/sqlstore"
	"github.com/tracklet/tracklet/server/worker/archive"
)

// ArchiveAPI adds the archive to the admin API, in front of Next:
//
//	GET /v1/archive?trackingId=&since=&until=   the archived parts (JSON), oldest first;
//	                                            since/until: RFC 3339 hours, optional
//	GET /v1/archive/file?key=...                one file (a part or a manifest)
//
// Both take the admin token through RequireAdmin, which is Next's own
// check (server/http.RequireAdmin), so every admin route answers alike.
type ArchiveAPI struct {
	Next         http.Handler
	RequireAdmin func(http.Handler) http.Handler
	DB           sqlstore.Querier
	Bucket       archive.Bucket
}

func (a *ArchiveAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/archive" && r.URL.Path != "/v1/archive/file" {
		a.Next.ServeHTTP(w, r)
		return
	}
	a.RequireAdmin(http.HandlerFunc(a.serveArchive)).ServeHTTP(w, r)
}

func (a *ArchiveAPI) serveArchive(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeJSONError(w, http.StatusMethodNotAllowed, "the archive is read with GET")
		return
	}
	q := r.URL.Query()
	if r.URL.Path == "/v1/archive/file" {
		key := q.Get("key")
		if key == "" || strings.Contains(key, "..") {
			writeJSONError(w, http.StatusBadRequest, "key: name a file that /v1/archive lists")
			return
		}
		body, err := a.Bucket.Get(r.Context(), key)
		if errors.Is(err, archive.ErrNotFound) {
			writeJSONError(w, http.StatusNotFound, "key "+key+": no such file")
			return
		} else if err != nil {
			writeJSONError(w, http.StatusBadGateway, "read the archive: "+err.Error())
			return
		}
		defer body.Close()
		ct := "application/x-ndjson"
		if strings.HasSuffix(key, ".json") {
			ct = "application/json"
		}
		for _, f := range archive.Formats {
			if strings.HasSuffix(key, "."+f.Ext) {
				ct = f.ContentType
			}
		}
		w.Header().Set("Content-Type", ct)
		io.Copy(w, body)
		return
	}
	var since, until time.Time
	for name, t := range map[string]*time.Time{"since": &since, "until": &until} {
		if v := q.Get(name); v != "" {
			var err error
			if *t, err = time.Parse(time.RFC3339, v); err != nil {
				writeJSONError(w, http.StatusBadRequest, name+": want an RFC 3339 time such as 2026-12-01T10:00:00Z")
				return
			}
		}
	}
	parts, err := archive.List(r.Context(), a.DB, q.Get("trackingId"), since, until)
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "list the archive: "+err.Error())
		return
	}
	if parts == nil {
		parts = []*archive.Part{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"parts": parts})
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}
