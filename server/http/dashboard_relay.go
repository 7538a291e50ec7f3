package http

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

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

// The relay's admin API, on the dashboard's mux and token:
//
//	GET    /v1/relay                  every link's state, the latest refusals
//	PUT    /v1/relay/{trackingId}     {"personalizeTrackingId", "region", "endpoint"}
//	DELETE /v1/relay/{trackingId}
func (d *Dashboard) relayRoutes() {
	d.mux.HandleFunc("GET /v1/relay", d.admin(d.serveRelay))
	d.mux.HandleFunc("PUT /v1/relay/{tracker}", d.admin(d.linkRelay))
	d.mux.HandleFunc("DELETE /v1/relay/{tracker}", d.admin(d.unlinkRelay))
}

func isRelayPath(path string) bool {
	return path == "/v1/relay" || strings.HasPrefix(path, "/v1/relay/")
}

// relayAdmin answers 501 and returns nil when the collector has no relay.
func (d *Dashboard) relayAdmin(w http.ResponseWriter) RelayAdmin {
	if d.cfg.Relay == nil {
		writeError(w, http.StatusNotImplemented, "NotImplementedException", "this collector has no relay to Personalize")
	}
	return d.cfg.Relay
}

func (d *Dashboard) serveRelay(w http.ResponseWriter, r *http.Request) {
	ra := d.relayAdmin(w)
	if ra == nil {
		return
	}
	st, err := ra.RelayStatus(r.Context(), 20)
	if err != nil {
		d.fail(w, "read relay status", err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (d *Dashboard) linkRelay(w http.ResponseWriter, r *http.Request) {
	ra := d.relayAdmin(w)
	if ra == nil {
		return
	}
	var req struct {
		PersonalizeTrackingID string `json:"personalizeTrackingId"`
		Region                string `json:"region"`
		Endpoint              string `json:"endpoint"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTrackerBody)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, errInvalidInput,
			`body: not a JSON object {"personalizeTrackingId": "...", "region": "...", "endpoint": "..."}: `+err.Error())
		return
	}
	tid := r.PathValue("tracker")
	err := ra.Link(r.Context(), tid, req.PersonalizeTrackingID, req.Region, req.Endpoint)
	if d.relayError(w, tid, "link relay", err) {
		return
	}
	d.log.Info("relay linked", "tracking_id", tid, "personalize_tracking_id", req.PersonalizeTrackingID, "region", req.Region)
	writeJSON(w, http.StatusOK, map[string]string{"trackingId": tid, "personalizeTrackingId": req.PersonalizeTrackingID})
}

func (d *Dashboard) unlinkRelay(w http.ResponseWriter, r *http.Request) {
	ra := d.relayAdmin(w)
	if ra == nil {
		return
	}
	tid := r.PathValue("tracker")
	if d.relayError(w, tid, "unlink relay", ra.Unlink(r.Context(), tid)) {
		return
	}
	d.log.Info("relay unlinked", "tracking_id", tid)
	w.WriteHeader(http.StatusNoContent)
}

// relayError answers err, if any, and reports whether it did.
func (d *Dashboard) relayError(w http.ResponseWriter, tid, what string, err error) bool {
	var fe *event.FieldError
	switch {
	case err == nil:
		return false
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, errInvalidInput, fe.Error())
	case errors.Is(err, server.ErrTrackerNotFound):
		writeError(w, http.StatusNotFound, errNotFound, "trackingId "+tid+": no such tracker, or not relayed")
	default:
		d.fail(w, what, err)
	}
	return true
}
