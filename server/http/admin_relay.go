package http

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
)

// RelayAdmin is the relay to Amazon Personalize as the admin API shows and
// changes it; package relay's Admin implements it. (Plain types, so that a
// build without the relay, such as the Worker's, links no AWS SDK.)
type RelayAdmin interface {
	// RelayStatus returns every link's state and the latest refusals,
	// ready for JSON.
	RelayStatus(ctx context.Context, refusals int) (any, error)
	// Link links trackingID to a Personalize event tracker; a bad field
	// is an *event.FieldError, an unknown tracker server.ErrTrackerNotFound.
	Link(ctx context.Context, trackingID, personalizeTrackingID, region, endpoint string) error
	// Unlink stops relaying; server.ErrTrackerNotFound if it was not.
	Unlink(ctx context.Context, trackingID string) error
}

// serveRelay answers GET /v1/relay: every link's state, the latest
// refusals.
func (h *Handler) serveRelay(w http.ResponseWriter, r *http.Request) {
	st, err := h.cfg.Relay.RelayStatus(r.Context(), 20)
	if err != nil {
		h.internalError(w, r, "read relay status", err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// linkRelay answers PUT /v1/relay/{trackingId} {"personalizeTrackingId",
// "region", "endpoint"}.
func (h *Handler) linkRelay(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PersonalizeTrackingID string `json:"personalizeTrackingId"`
		Region                string `json:"region"`
		Endpoint              string `json:"endpoint"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTrackerBody)).Decode(&req); err != nil {
		WriteError(w, http.StatusBadRequest, CodeInvalidInput,
			`body: not a JSON object {"personalizeTrackingId": "...", "region": "...", "endpoint": "..."}: `+err.Error())
		return
	}
	tid := r.PathValue("trackingId")
	err := h.cfg.Relay.Link(r.Context(), tid, req.PersonalizeTrackingID, req.Region, req.Endpoint)
	if h.relayError(w, r, tid, "link relay", err) {
		return
	}
	h.log.Info("relay linked", "tracking_id", tid, "personalize_tracking_id", req.PersonalizeTrackingID, "region", req.Region)
	writeJSON(w, http.StatusOK, map[string]string{"trackingId": tid, "personalizeTrackingId": req.PersonalizeTrackingID})
}

// unlinkRelay answers DELETE /v1/relay/{trackingId}.
func (h *Handler) unlinkRelay(w http.ResponseWriter, r *http.Request) {
	tid := r.PathValue("trackingId")
	if h.relayError(w, r, tid, "unlink relay", h.cfg.Relay.Unlink(r.Context(), tid)) {
		return
	}
	h.log.Info("relay unlinked", "tracking_id", tid)
	w.WriteHeader(http.StatusNoContent)
}

// relayError answers err, if any, and reports whether it did.
func (h *Handler) relayError(w http.ResponseWriter, r *http.Request, tid, what string, err error) bool {
	var fe *event.FieldError
	switch {
	case err == nil:
		return false
	case errors.As(err, &fe):
		WriteError(w, http.StatusBadRequest, CodeInvalidInput, fe.Error())
	case errors.Is(err, server.ErrTrackerNotFound):
		WriteError(w, http.StatusNotFound, CodeNotFound, "trackingId "+tid+": no such tracker, or not relayed")
	default:
		h.internalError(w, r, what, err)
	}
	return true
}
