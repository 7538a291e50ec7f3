package http

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tracklet/tracklet/server"
)

// TrackerAdmin is the store behind /v1/trackers.
type TrackerAdmin interface {
	Trackers(ctx context.Context) ([]*server.Tracker, error)
	CreateTracker(ctx context.Context, name string, origins []string) (*server.Tracker, error)
}

// Limits of POST /v1/trackers.
const (
	maxTrackerName    = 256
	maxTrackerOrigins = 100
	maxTrackerBody    = 64 << 10
)

// trackerJSON is a tracker in the API.
type trackerJSON struct {
	TrackingID string   `json:"trackingId"`
	Name       string   `json:"name"`
	Origins    []string `json:"origins"`
	Disabled   bool     `json:"disabled"`
	CreatedAt  int64    `json:"createdAt"` // epoch ms
}

func toTrackerJSON(t *server.Tracker) trackerJSON {
	origins := t.Origins
	if origins == nil {
		origins = []string{}
	}
	return trackerJSON{TrackingID: t.ID, Name: t.Name, Origins: origins, Disabled: t.Disabled, CreatedAt: t.CreatedAt.UnixMilli()}
}

// listTrackers answers GET /v1/trackers.
func (h *Handler) listTrackers(w http.ResponseWriter, r *http.Request) {
	ts, err := h.cfg.Trackers.Trackers(r.Context())
	if err != nil {
		h.internalError(w, r, "list trackers", err)
		return
	}
	out := make([]trackerJSON, len(ts))
	for i, t := range ts {
		out[i] = toTrackerJSON(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"trackers": out})
}

// createTracker answers POST /v1/trackers {"name": ..., "origins": [...]}
// with the new tracker (201).
func (h *Handler) createTracker(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name    string   `json:"name"`
		Origins []string `json:"origins"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTrackerBody))
	if err := dec.Decode(&req); err != nil {
		WriteError(w, http.StatusBadRequest, CodeInvalidInput, `body: not a JSON object {"name": "...", "origins": ["https://..."]}: `+err.Error())
		return
	}
	if err := checkTracker(req.Name, req.Origins); err != nil {
		WriteError(w, http.StatusBadRequest, CodeInvalidInput, err.Error())
		return
	}
	t, err := h.cfg.Trackers.CreateTracker(r.Context(), strings.TrimSpace(req.Name), req.Origins)
	if err != nil {
		h.internalError(w, r, "create tracker", err)
		return
	}
	h.log.Info("tracker created", "tracking_id", t.ID, "name", t.Name, "origins", t.Origins)
	writeJSON(w, http.StatusCreated, toTrackerJSON(t))
}

// checkTracker validates a new tracker's fields, naming the one at fault.
func checkTracker(name string, origins []string) error {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return errors.New("name: missing or empty")
	case utf8.RuneCountInString(name) > maxTrackerName:
		return errors.New("name: longer than " + strconv.Itoa(maxTrackerName) + " characters")
	case len(origins) > maxTrackerOrigins:
		return errors.New("origins: more than " + strconv.Itoa(maxTrackerOrigins))
	}
	for i, o := range origins {
		if _, err := server.NormalizeOrigin(o); err != nil {
			return errors.New("origins[" + strconv.Itoa(i) + "]: " + err.Error())
		}
	}
	return nil
}
