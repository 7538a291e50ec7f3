package relay

import (
	"context"
	"time"
)

// AdminStore is what Admin needs: links to change, state to read.
type AdminStore interface {
	SetRelay(ctx context.Context, l *Link) error
	DeleteRelay(ctx context.Context, trackingID string) error
	RelayStatus(ctx context.Context) ([]*Status, error)
	Refusals(ctx context.Context, trackingID string, limit int) ([]*Refusal, error)
}

// Admin shows and changes links for the collector's admin API (the HTTP
// handler knows it through an interface of plain types, so that builds
// without the relay link none of it).
type Admin struct{ Store AdminStore }

// Link links trackingID to a Personalize event tracker; a bad field is an
// *event.FieldError, an unknown tracker server.ErrTrackerNotFound.
func (a Admin) Link(ctx context.Context, trackingID, personalizeTrackingID, region, endpoint string) error {
	l, err := NewLink(trackingID, personalizeTrackingID, region, endpoint)
	if err != nil {
		return err
	}
	return a.Store.SetRelay(ctx, l)
}

// Unlink stops relaying trackingID.
func (a Admin) Unlink(ctx context.Context, trackingID string) error {
	return a.Store.DeleteRelay(ctx, trackingID)
}

// StatusJSON is a link's state in the admin API. Times are epoch ms, 0 for
// never.
type StatusJSON struct {
	TrackingID            string `json:"trackingId"`
	PersonalizeTrackingID string `json:"personalizeTrackingId"`
	Region                string `json:"region"`
	Endpoint              string `json:"endpoint,omitempty"`
	URL                   string `json:"url"`
	State                 string `json:"state"` // idle, relaying, retrying
	Cursor                int64  `json:"cursor"`
	Relayed               int64  `json:"relayed"`
	Refused               int64  `json:"refused"`
	Pending               int64  `json:"pending"`
	OldestPendingAt       int64  `json:"oldestPendingAt"`
	LastRelayedAt         int64  `json:"lastRelayedAt"`
	LastError             string `json:"lastError,omitempty"`
	LastErrorAt           int64  `json:"lastErrorAt"`
}

// RefusalJSON is a refusal in the admin API.
type RefusalJSON struct {
	At         int64    `json:"at"`
	TrackingID string   `json:"trackingId"`
	FirstSeq   int64    `json:"firstSeq"`
	LastSeq    int64    `json:"lastSeq"`
	EventIDs   []string `json:"eventIds"`
	Status     int      `json:"status"`
	ErrorType  string   `json:"errorType"`
	Message    string   `json:"message"`
}

// RelayStatus returns every link's state and the latest refusals, as
// {"links": [StatusJSON], "refusals": [RefusalJSON]}.
func (a Admin) RelayStatus(ctx context.Context, refusals int) (any, error) {
	sts, err := a.Store.RelayStatus(ctx)
	if err != nil {
		return nil, err
	}
	rfs, err := a.Store.Refusals(ctx, "", refusals)
	if err != nil {
		return nil, err
	}
	out := struct {
		Links    []StatusJSON  `json:"links"`
		Refusals []RefusalJSON `json:"refusals"`
	}{Links: []StatusJSON{}, Refusals: []RefusalJSON{}}
	for _, s := range sts {
		out.Links = append(out.Links, StatusJSON{
			TrackingID: s.TrackingID, PersonalizeTrackingID: s.PersonalizeTrackingID, Region: s.Region,
			Endpoint: s.Endpoint, URL: s.URL(), State: s.State(), Cursor: s.Cursor, Relayed: s.Relayed,
			Refused: s.Refused, Pending: s.Pending, OldestPendingAt: ms(s.OldestPending),
			LastRelayedAt: ms(s.LastRelayedAt), LastError: s.LastError, LastErrorAt: ms(s.LastErrorAt),
		})
	}
	for _, r := range rfs {
		out.Refusals = append(out.Refusals, RefusalJSON{At: ms(r.At), TrackingID: r.TrackingID, FirstSeq: r.FirstSeq,
			LastSeq: r.LastSeq, EventIDs: r.EventIDs, Status: r.Status, ErrorType: r.ErrorType, Message: r.Message})
	}
	return out, nil
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
