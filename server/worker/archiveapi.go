package worker

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	trackhttp "github.com/tracklet/tracklet/server/http"
	"github.com/tracklet/tracklet/server/sqlstore"
	"github.com/tracklet/tracklet/server/worker/archive"
)

// ArchiveAPI is the archive's part of the admin API:
//
//	GET /v1/archive?trackingId=&since=&until=   the archived parts (JSON), oldest first;
//	                                            since/until: RFC 3339 hours, optional
//	GET /v1/archive/file?key=...                one file (a part or a manifest)
//
// Its Routes join the collector's admin API (Config.Routes of package
// http), which routes them, checks the admin token and shapes errors as it
// does for all of its own.
type ArchiveAPI struct {
	DB     sqlstore.Querier
	Bucket archive.Bucket
}

// Routes returns the archive's routes of the admin API.
func (a *ArchiveAPI) Routes() []trackhttp.Route {
	return []trackhttp.Route{
		{Pattern: "GET /v1/archive", Handler: http.HandlerFunc(a.list)},
		{Pattern: "GET /v1/archive/file", Handler: http.HandlerFunc(a.file)},
	}
}

// file answers GET /v1/archive/file?key=.
func (a *ArchiveAPI) file(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	if key == "" || strings.Contains(key, "..") {
		trackhttp.WriteError(w, http.StatusBadRequest, trackhttp.CodeInvalidInput, "key: name a file that /v1/archive lists")
		return
	}
	body, err := a.Bucket.Get(r.Context(), key)
	if errors.Is(err, archive.ErrNotFound) {
		trackhttp.WriteError(w, http.StatusNotFound, trackhttp.CodeNotFound, "key "+key+": no such file")
		return
	} else if err != nil {
		trackhttp.WriteError(w, http.StatusBadGateway, trackhttp.CodeInternal, "read the archive: "+err.Error())
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
}

// list answers GET /v1/archive?trackingId=&since=&until=.
func (a *ArchiveAPI) list(w http.ResponseWriter, r *http.Request) {
	tid, ok := trackhttp.TrackingIDParam(w, r, false)
	if !ok {
		return
	}
	q := r.URL.Query()
	var since, until time.Time
	for name, t := range map[string]*time.Time{"since": &since, "until": &until} {
		if v := q.Get(name); v != "" {
			var err error
			if *t, err = time.Parse(time.RFC3339, v); err != nil {
				trackhttp.WriteError(w, http.StatusBadRequest, trackhttp.CodeInvalidInput, name+": want an RFC 3339 time such as 2026-12-01T10:00:00Z")
				return
			}
		}
	}
	parts, err := archive.List(r.Context(), a.DB, tid, since, until)
	if err != nil {
		trackhttp.WriteError(w, http.StatusInternalServerError, trackhttp.CodeInternal, "list the archive: "+err.Error())
		return
	}
	if parts == nil {
		parts = []*archive.Part{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"parts": parts})
}
