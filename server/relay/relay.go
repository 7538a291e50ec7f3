// Package relay forwards a tracker's stored events to Amazon Personalize's
// PutEvents API as they arrive, for Personalize's real-time
// recommendations.
//
// The store is the relay's outbox: each linked tracker has a cursor, the
// seq of the last event Personalize accepted (or refused for good), kept
// in the store and moved only after Personalize answered. A relay that
// stops, even killed, starts again after the cursor, so every stored event
// is sent at least once; Personalize (like Tracklet) drops an eventId it
// already has. Events go in requests of at most ten that share a sessionId
// and userId, as PutEvents requires.
//
// Throttling, 5xx answers, network and credential errors are retried with
// exponential backoff and jitter, without end: they are not the events'
// fault, and giving up would lose them. A request Personalize refuses as
// invalid is split into single events, and the events it still refuses are
// recorded (Store.Advance) and passed: a refused event is never retried.
package relay

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
)

// Link ties a tracker to a Personalize event tracker.
type Link struct {
	TrackingID string // ours
	// PersonalizeTrackingID is the trackingId of the Personalize event
	// tracker (CreateEventTracker's answer).
	PersonalizeTrackingID string
	Region                string // e.g. eu-west-1
	// Endpoint overrides Personalize's (a VPC endpoint, a test server):
	// a URL whose path ends before /events. Empty means
	// https://personalize-events.REGION.amazonaws.com.
	Endpoint string
	// Cursor is the seq of the last event relayed or refused.
	Cursor int64
}

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// NewLink checks what a user gives for a link.
func NewLink(trackingID, personalizeTrackingID, region, endpoint string) (*Link, error) {
	l := &Link{TrackingID: trackingID, PersonalizeTrackingID: strings.TrimSpace(personalizeTrackingID),
		Region: strings.TrimSpace(region), Endpoint: strings.TrimRight(strings.TrimSpace(endpoint), "/")}
	// It is the trackingId of the PutEvents requests the relay sends, so
	// the rule of a request's trackingId applies, in characters.
	if err := event.CheckID("personalizeTrackingId", l.PersonalizeTrackingID); err != nil {
		return nil, err
	}
	if !regionPattern.MatchString(l.Region) {
		return nil, &event.FieldError{Field: "region", Rule: fmt.Sprintf("%q is not an AWS region such as eu-west-1", region)}
	}
	if l.Endpoint != "" {
		u, err := url.Parse(l.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, &event.FieldError{Field: "endpoint", Rule: fmt.Sprintf(
				"%q is not an http(s) URL such as https://vpce-1.personalize-events.eu-west-1.vpce.amazonaws.com", endpoint)}
		}
	}
	return l, nil
}

// URL is where PutEvents requests go.
func (l *Link) URL() string {
	if l.Endpoint != "" {
		return l.Endpoint + "/events"
	}
	return "https://personalize-events." + l.Region + ".amazonaws.com/events"
}

// sameTarget reports whether l and o send to the same place.
func (l *Link) sameTarget(o *Link) bool {
	return l.PersonalizeTrackingID == o.PersonalizeTrackingID && l.Region == o.Region && l.Endpoint == o.Endpoint
}

// Refusal is a request Personalize refused for good.
type Refusal struct {
	ID                int64 // assigned by the store
	TrackingID        string
	At                time.Time
	FirstSeq, LastSeq int64
	EventIDs          []string
	Status            int    // HTTP status
	ErrorType         string // e.g. InvalidInputException
	Message           string
}

// MaxRefusals bounds the refusals a store keeps per tracker; older ones
// are dropped (the counts stay).
const MaxRefusals = 1000

// Status is a link's state as the store keeps it.
type Status struct {
	Link
	Relayed, Refused int64 // events, ever
	LastRelayedAt    time.Time
	LastError        string // the last retried failure, if any
	LastErrorAt      time.Time
	// Pending counts the events after the cursor; OldestPending is when
	// the first of them was received.
	Pending       int64
	OldestPending time.Time
}

// State names the link's state: retrying (its last attempt failed),
// relaying (events wait) or idle (everything was sent).
func (s *Status) State() string {
	switch {
	case s.LastError != "" && !s.LastErrorAt.Before(s.LastRelayedAt) && s.Pending > 0:
		return "retrying"
	case s.Pending > 0:
		return "relaying"
	}
	return "idle"
}

// Store is the relay's outbox.
type Store interface {
	// Links returns every link with its cursor.
	Links(ctx context.Context) ([]*Link, error)
	// Events reads stored events (AfterSeq, Limit and TrackingID are used).
	Events(ctx context.Context, f server.EventFilter) iter.Seq2[*server.StoredEvent, error]
	// Advance moves trackingID's cursor forward to through (never back),
	// counts relayed events and keeps refusals, in one transaction.
	Advance(ctx context.Context, trackingID string, through int64, relayed int, refusals []*Refusal, at time.Time) error
	// RecordError keeps the last retried failure, for Status.
	RecordError(ctx context.Context, trackingID, message string, at time.Time) error
	// Pending counts trackingID's events after seq, and when the first of
	// them was received.
	Pending(ctx context.Context, trackingID string, after int64) (int64, time.Time, error)
}

// Observer hears what the relay does, for metrics.
type Observer interface {
	Relayed(trackingID string, events int)
	Refused(trackingID string, events int)
	// Retried counts a failed attempt that will be retried; reason is
	// throttled, server, network or credentials.
	Retried(trackingID, reason string)
	// Lag is how many events wait, and how long the oldest has.
	Lag(trackingID string, events int64, age time.Duration)
}

// Sender posts a PutEvents body for a link. An error that is a *Refused
// is final; any other is retried.
type Sender interface {
	PutEvents(ctx context.Context, l *Link, body []byte) error
}

// Refused is Personalize's final no to a request.
type Refused struct {
	Status    int
	ErrorType string
	Message   string
}

func (e *Refused) Error() string {
	return fmt.Sprintf("refused (%d %s): %s", e.Status, e.ErrorType, e.Message)
}

// Retryable is a failure worth retrying, with its reason for metrics.
type Retryable struct {
	Reason string // throttled, server, network, credentials
	Err    error
}

func (e *Retryable) Error() string { return e.Err.Error() }
func (e *Retryable) Unwrap() error { return e.Err }

func reasonOf(err error) string {
	var r *Retryable
	if errors.As(err, &r) {
		return r.Reason
	}
	return "network"
}
