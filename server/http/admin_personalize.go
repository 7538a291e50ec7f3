package http

import (
	"bytes"
	"io"
	"iter"
	"net/http"
	"strconv"
	"strings"

	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/export"
)

// adminPersonalize answers GET /v1/events?format=personalize (the Amazon
// Personalize Interactions CSV) and format=personalize-schema (its Avro
// schema). The schema depends on every value, so it is a second request:
// it answers X-Tracklet-Through-Seq, the last event it read, and passing
// that back as through= makes the CSV describe exactly the same events.
// Both take columns= (as tracklet export --columns) and eventTypes=.
func (h *Handler) adminPersonalize(w http.ResponseWriter, r *http.Request, f server.EventFilter, schemaOnly bool) {
	q := r.URL.Query()
	var opts export.PersonalizeOptions
	var err error
	if opts.Columns, err = export.ParseColumns(q.Get("columns")); err != nil {
		WriteError(w, http.StatusBadRequest, CodeInvalidInput, "columns: "+err.Error())
		return
	}
	if t := q.Get("eventTypes"); t != "" {
		opts.EventTypes = strings.Split(t, ",")
	}
	through, err := queryInt(q.Get("through"), 0, -1)
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeInvalidInput, "through: "+err.Error())
		return
	}
	f.ThroughSeq = int64(through)
	if !schemaOnly {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		if _, err := export.WritePersonalize(r.Context(), w, h.cfg.Admin.Events(r.Context(), f), opts); err != nil {
			h.log.WarnContext(r.Context(), "export cut short", "err", err)
		}
		return
	}
	var last int64
	events := func(yield func(*server.StoredEvent, error) bool) {
		for e, err := range h.cfg.Admin.Events(r.Context(), f) {
			if e != nil {
				last = e.Seq
			}
			if !yield(e, err) {
				return
			}
		}
	}
	res, err := export.WritePersonalize(r.Context(), io.Discard, iter.Seq2[*server.StoredEvent, error](events), opts)
	if err != nil {
		h.internalError(w, r, "read events", err)
		return
	}
	hd := w.Header()
	hd.Set("X-Tracklet-Through-Seq", strconv.FormatInt(last, 10))
	hd.Set("X-Tracklet-Rows", strconv.FormatInt(res.Rows, 10))
	var notes bytes.Buffer
	res.Report(&notes)
	for line := range strings.Lines(notes.String()) {
		hd.Add("X-Tracklet-Note", strings.TrimSuffix(line, "\n"))
	}
	hd.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(append(res.Schema, '\n'))
}
