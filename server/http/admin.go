package http

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/export"
)

// isAdminPath names the read/admin API's paths.
func isAdminPath(path string) bool {
	return path == "/v1/events" || path == "/v1/stats" || path == "/v1/rejected"
}

// serveAdmin answers the read/admin API, for tests in users' CI (with
// `serve --memory`) and for operators.
func (h *Handler) serveAdmin(w http.ResponseWriter, r *http.Request, path string) {
	requireAdmin(h.cfg.AdminToken, func(w http.ResponseWriter, r *http.Request) { h.serveAdminAPI(w, r, path) })(w, r)
}

func (h *Handler) serveAdminAPI(w http.ResponseWriter, r *http.Request, path string) {
	if h.cfg.Admin == nil {
		writeError(w, http.StatusNotImplemented, "NotImplementedException", "this collector's store has no admin API")
		return
	}
	q := r.URL.Query()
	switch {
	case path == "/v1/events" && r.Method == http.MethodGet:
		h.adminEvents(w, r)
	case path == "/v1/events" && r.Method == http.MethodDelete:
		n, err := h.cfg.Admin.DeleteEvents(r.Context(), q.Get("trackingId"))
		if err != nil {
			h.internalError(w, r, "delete events", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int64{"deleted": n})
	case path == "/v1/stats" && r.Method == http.MethodGet:
		h.adminStats(w, r)
	case path == "/v1/rejected" && r.Method == http.MethodGet:
		limit, err := queryInt(q.Get("limit"), 100, 1000)
		if err != nil {
			writeError(w, http.StatusBadRequest, errInvalidInput, "limit: "+err.Error())
			return
		}
		rs, err := h.cfg.Admin.Rejected(r.Context(), q.Get("trackingId"), limit)
		if err != nil {
			h.internalError(w, r, "read rejected", err)
			return
		}
		type item struct {
			ReceivedAt time.Time `json:"receivedAt"`
			TrackingID string    `json:"trackingId,omitempty"`
			Status     int       `json:"status"`
			Reason     string    `json:"reason"`
			Origin     string    `json:"origin,omitempty"`
			Body       string    `json:"body"`
		}
		out := make([]item, len(rs))
		for i, r := range rs {
			out[i] = item{r.ReceivedAt.UTC(), r.TrackingID, r.Status, r.Reason, r.Origin, r.Body}
		}
		writeJSON(w, http.StatusOK, map[string]any{"rejected": out})
	default:
		allow := "GET"
		if path == "/v1/events" {
			allow = "GET, DELETE"
		}
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowedException", "use "+allow)
	}
}

// adminEvents lists stored events: a page of JSON (format=json, the
// default; follow "next" with after=), or the whole selection streamed as
// NDJSON, CSV or a Personalize dataset (format=ndjson|csv|personalize, see
// adminPersonalize).
func (h *Handler) adminEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := server.EventFilter{TrackingID: q.Get("trackingId")}
	var errs []string
	var err error
	if f.Since, err = queryTime(q.Get("since")); err != nil {
		errs = append(errs, "since: "+err.Error())
	}
	if f.Until, err = queryTime(q.Get("until")); err != nil {
		errs = append(errs, "until: "+err.Error())
	}
	after, err := queryInt(q.Get("after"), 0, -1)
	if err != nil {
		errs = append(errs, "after: "+err.Error())
	}
	f.AfterSeq = int64(after)
	format := q.Get("format")
	defLimit, maxLimit := 100, 1000
	if format == "ndjson" || format == "csv" || strings.HasPrefix(format, "personalize") {
		defLimit, maxLimit = 0, -1 // a whole export unless limited
	}
	if f.Limit, err = queryInt(q.Get("limit"), defLimit, maxLimit); err != nil {
		errs = append(errs, "limit: "+err.Error())
	}
	if len(errs) > 0 {
		writeError(w, http.StatusBadRequest, errInvalidInput, strings.Join(errs, "; "))
		return
	}
	switch format {
	case "ndjson", "csv":
		ct := "application/x-ndjson"
		if format == "csv" {
			ct = "text/csv; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		if _, err := export.Write(r.Context(), w, h.cfg.Admin, f, format, nil); err != nil {
			h.log.WarnContext(r.Context(), "export cut short", "err", err)
		}
		return
	case "personalize", "personalize-schema":
		h.adminPersonalize(w, r, f, format == "personalize-schema")
		return
	case "", "json":
	default:
		writeError(w, http.StatusBadRequest, errInvalidInput, "format: want json, ndjson, csv, personalize or personalize-schema")
		return
	}
	type item struct {
		Seq int64 `json:"seq"`
		export.Record
	}
	out := struct {
		Events []item `json:"events"`
		// Next is the after= of the following page; absent on the last.
		Next *int64 `json:"next,omitempty"`
	}{Events: []item{}}
	for e, err := range h.cfg.Admin.Events(r.Context(), f) {
		if err != nil {
			h.internalError(w, r, "read events", err)
			return
		}
		out.Events = append(out.Events, item{e.Seq, export.RecordOf(e)})
	}
	if n := len(out.Events); n == f.Limit {
		out.Next = &out.Events[n-1].Seq
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) adminStats(w http.ResponseWriter, r *http.Request) {
	trackers, err := h.cfg.Admin.Stats(r.Context())
	if err != nil {
		h.internalError(w, r, "read stats", err)
		return
	}
	type trackerJSON struct {
		TrackingID     string     `json:"trackingId"`
		Name           string     `json:"name"`
		Disabled       bool       `json:"disabled"`
		Origins        []string   `json:"origins"`
		Events         int64      `json:"events"`
		Rejected       int64      `json:"rejected"`
		LastReceivedAt *time.Time `json:"lastReceivedAt,omitempty"`
	}
	out := struct {
		Since            time.Time     `json:"since"`
		Requests         int64         `json:"requests"`
		EventsAccepted   int64         `json:"eventsAccepted"`
		EventsDuplicate  int64         `json:"eventsDuplicate"`
		RejectedRequests int64         `json:"rejectedRequests"`
		RateLimited      int64         `json:"rateLimited"`
		Trackers         []trackerJSON `json:"trackers"`
	}{
		Since: h.started.UTC(), Requests: h.stats.requests.Load(), EventsAccepted: h.stats.accepted.Load(),
		EventsDuplicate: h.stats.duplicates.Load(), RejectedRequests: h.stats.rejected.Load(),
		RateLimited: h.stats.limited.Load(), Trackers: []trackerJSON{},
	}
	for _, t := range trackers {
		tj := trackerJSON{TrackingID: t.ID, Name: t.Name, Disabled: t.Disabled, Origins: t.Origins,
			Events: t.Events, Rejected: t.Rejected}
		if !t.LastReceivedAt.IsZero() {
			at := t.LastReceivedAt.UTC()
			tj.LastReceivedAt = &at
		}
		out.Trackers = append(out.Trackers, tj)
	}
	writeJSON(w, http.StatusOK, out)
}

// queryInt reads a non-negative integer query parameter; max < 0 means no
// maximum.
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

// queryTime reads since/until as sentAt is read: RFC 3339 or epoch
// seconds (milliseconds from 1e11 on).
func queryTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	raw := []byte(s)
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		raw = []byte(strconv.Quote(s))
	}
	ts, err := event.ParseTimestamp(raw)
	if err != nil {
		return time.Time{}, err
	}
	return ts.Time(), nil
}

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
