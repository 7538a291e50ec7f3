package http

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/export"
)

// deleteEvents answers DELETE /v1/events[?trackingId=], for resetting a
// test collector between runs.
func (h *Handler) deleteEvents(w http.ResponseWriter, r *http.Request) {
	tid, ok := TrackingIDParam(w, r, false)
	if !ok {
		return
	}
	n, err := h.cfg.Admin.DeleteEvents(r.Context(), tid)
	if err != nil {
		h.internalError(w, r, "delete events", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"deleted": n})
}

// rejectedJSON is one entry of GET /v1/rejected.
type rejectedJSON struct {
	ReceivedAt time.Time `json:"receivedAt"`
	TrackingID string    `json:"trackingId,omitempty"`
	Status     int       `json:"status"`
	Reason     string    `json:"reason"`
	Origin     string    `json:"origin,omitempty"`
	Body       string    `json:"body"`
}

// adminRejected answers GET /v1/rejected?trackingId=&limit=: the refused
// requests kept, newest first, of one tracker or (without trackingId) all.
func (h *Handler) adminRejected(w http.ResponseWriter, r *http.Request) {
	tid, ok := TrackingIDParam(w, r, false)
	if !ok {
		return
	}
	limit, ok := intParam(w, r, "limit", 100, 1000)
	if !ok {
		return
	}
	rs, err := h.cfg.Admin.Rejected(r.Context(), tid, limit)
	if err != nil {
		h.internalError(w, r, "read rejected", err)
		return
	}
	out := make([]rejectedJSON, len(rs))
	for i, r := range rs {
		out[i] = rejectedJSON{r.ReceivedAt.UTC(), r.TrackingID, r.Status, r.Reason, r.Origin, r.Body}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rejected": out})
}

// adminEvents lists stored events: a page of JSON (format=json, the
// default; follow "next" with after=), or the whole selection streamed as
// NDJSON, CSV or a Personalize dataset (format=ndjson|csv|personalize, see
// adminPersonalize).
func (h *Handler) adminEvents(w http.ResponseWriter, r *http.Request) {
	tid, ok := TrackingIDParam(w, r, false)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := server.EventFilter{TrackingID: tid}
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
		WriteError(w, http.StatusBadRequest, CodeInvalidInput, strings.Join(errs, "; "))
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
		WriteError(w, http.StatusBadRequest, CodeInvalidInput, "format: want json, ndjson, csv, personalize or personalize-schema")
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

// adminStats answers GET /v1/stats: what the collector counted since it
// started, and every tracker's totals.
func (h *Handler) adminStats(w http.ResponseWriter, r *http.Request) {
	trackers, err := h.cfg.Admin.Stats(r.Context())
	if err != nil {
		h.internalError(w, r, "read stats", err)
		return
	}
	type trackerTotals struct {
		TrackingID     string     `json:"trackingId"`
		Name           string     `json:"name"`
		Disabled       bool       `json:"disabled"`
		Origins        []string   `json:"origins"`
		Events         int64      `json:"events"`
		Rejected       int64      `json:"rejected"`
		LastReceivedAt *time.Time `json:"lastReceivedAt,omitempty"`
	}
	out := struct {
		Since            time.Time       `json:"since"`
		Requests         int64           `json:"requests"`
		EventsAccepted   int64           `json:"eventsAccepted"`
		EventsDuplicate  int64           `json:"eventsDuplicate"`
		RejectedRequests int64           `json:"rejectedRequests"`
		RateLimited      int64           `json:"rateLimited"`
		Trackers         []trackerTotals `json:"trackers"`
	}{
		Since: h.started.UTC(), Requests: h.stats.requests.Load(), EventsAccepted: h.stats.accepted.Load(),
		EventsDuplicate: h.stats.duplicates.Load(), RejectedRequests: h.stats.rejected.Load(),
		RateLimited: h.stats.limited.Load(), Trackers: []trackerTotals{},
	}
	for _, t := range trackers {
		tj := trackerTotals{TrackingID: t.ID, Name: t.Name, Disabled: t.Disabled, Origins: t.Origins,
			Events: t.Events, Rejected: t.Rejected}
		if !t.LastReceivedAt.IsZero() {
			at := t.LastReceivedAt.UTC()
			tj.LastReceivedAt = &at
		}
		out.Trackers = append(out.Trackers, tj)
	}
	writeJSON(w, http.StatusOK, out)
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
