// Package server holds the collector's domain: trackers, the batches of
// events it stores, and the Store interface that the HTTP API talks to.
//
// It knows nothing of SQLite or HTTP. The storage backends implement its
// interfaces side by side: package sqlite on an embedded database, package
// d1 on Cloudflare D1, with the SQL they share in package sqlstore. Package
// http serves the PutEvents API on any Store, natively and in the Worker.
package server

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tracklet/tracklet/event"
)

// Errors a Store returns; compare with errors.Is.
var (
	// ErrTrackerNotFound: no tracker has the given trackingId.
	ErrTrackerNotFound = errors.New("tracker not found")
	// ErrClosed: the store is shut down and takes no more writes.
	ErrClosed = errors.New("store closed")
	// ErrUnavailable: the store cannot write now (the disk is full, it
	// fails with I/O errors, its file was deleted or replaced) and nothing
	// was stored; the client should retry later. The error wrapping it
	// says why.
	ErrUnavailable = errors.New("store unavailable")
)

// Tracker is one site's (or app's) permission to send events. Its ID is the
// trackingId events carry.
type Tracker struct {
	ID   string
	Name string
	// Origins lists the web origins ("https://shop.example") whose pages
	// may send events for this tracker. Empty means any origin.
	Origins   []string
	Disabled  bool
	CreatedAt time.Time
	// SigV4, if set, is the access key whose AWS Signature Version 4 every
	// PutEvents request for this tracker must carry (server-side senders
	// using an AWS SDK); requests without it are refused.
	SigV4 *AccessKey
}

// AccessKey is an AWS-style access key pair.
type AccessKey struct {
	ID     string // e.g. AKIA...
	Secret string
}

// NewAccessKey checks a key pair a user gives: AWS's own are 16 to 128
// characters of A-Z and 0-9 for the id, and the secret must be long enough
// not to be guessed.
func NewAccessKey(id, secret string) (*AccessKey, error) {
	if n := len(id); n < 16 || n > 128 || strings.IndexFunc(id, func(r rune) bool {
		return (r < 'A' || r > 'Z') && (r < '0' || r > '9')
	}) >= 0 {
		return nil, errors.New("access key id: want 16 to 128 characters of A-Z and 0-9, like AKIAIOSFODNN7EXAMPLE")
	}
	if n := len(secret); n < 16 || n > 128 || strings.ContainsAny(secret, " \t\r\n") {
		return nil, errors.New("secret access key: want 16 to 128 characters without spaces")
	}
	return &AccessKey{ID: id, Secret: secret}, nil
}

// AllowsOrigin reports whether a request carrying the Origin header origin
// may send events for t. Requests without an Origin (servers, not browsers)
// are always allowed.
func (t *Tracker) AllowsOrigin(origin string) bool {
	if origin == "" || len(t.Origins) == 0 {
		return true
	}
	for _, o := range t.Origins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// NormalizeOrigin turns what a user typed ("https://Shop.example/") into the
// form browsers send in the Origin header ("https://shop.example").
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("origin " + s + " is not an http(s) URL such as https://shop.example")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errors.New("origin " + s + " must be scheme://host[:port] only, without a path")
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// Batch is one accepted PutEvents request, ready to store.
type Batch struct {
	// Request has passed event's validation.
	Request *event.Request
	// ReceivedAt is when the collector received the request.
	ReceivedAt time.Time
	// ClientSentAt is when the client says it sent the request (the
	// X-Tracklet-Sent-At header), on the client's clock; zero if unknown.
	// With it, the store corrects each event's sentAt for the client's clock
	// skew (see OccurredAt).
	ClientSentAt time.Time
}

// OccurredAt is when an event sent at sentAt happened, on the server's
// clock: the client's clock is assumed off by as much as its send time
// differs from our receive time. Without a client send time, it is sentAt.
func (b *Batch) OccurredAt(sentAt time.Time) time.Time {
	if b.ClientSentAt.IsZero() {
		return sentAt
	}
	return b.ReceivedAt.Add(-b.ClientSentAt.Sub(sentAt))
}

// PutResult counts what storing a batch did.
type PutResult struct {
	// Accepted events are new and stored.
	Accepted int
	// Duplicates repeat the (trackingId, eventId) of a stored event and
	// were dropped; a retried request is all duplicates.
	Duplicates int
}

// TrackerReader is the part of a Store that answers for trackers: what a
// cache in front of a store (the Worker's) reads through.
type TrackerReader interface {
	// Tracker returns the tracker with the given trackingId, or
	// ErrTrackerNotFound.
	Tracker(ctx context.Context, id string) (*Tracker, error)
	// OriginAllowed reports whether some enabled tracker accepts events
	// from origin, for answering CORS preflights, which carry no body and
	// so no trackingId.
	OriginAllowed(ctx context.Context, origin string) (bool, error)
}

// Store is what the ingest API needs from storage. Packages sqlite and d1
// implement it (and Admin, EventReader); server/internal/storetest is the
// suite both run.
type Store interface {
	TrackerReader
	// PutEvents stores a batch all-or-nothing, dropping events whose
	// (trackingId, eventId) is already stored. Every event must have an
	// eventId: the ingest path gives the others one (AssignEventIDs)
	// before it calls PutEvents, and a store refuses a batch that lacks
	// one. When it returns nil the events are durable.
	PutEvents(ctx context.Context, b *Batch) (PutResult, error)
}

// StoredEvent is an event as the store holds it.
type StoredEvent struct {
	// Seq orders events by arrival; it only grows.
	Seq        int64
	TrackingID string
	SessionID  string
	UserID     *string
	event.Event
	ReceivedAt time.Time
	// OccurredAt is sentAt corrected for the client's clock skew.
	OccurredAt time.Time
}

// EventFilter selects stored events. Zero fields select everything.
type EventFilter struct {
	TrackingID string
	// Since and Until bound sentAt: Since <= sentAt < Until.
	Since, Until time.Time
	// ReceivedSince and ReceivedUntil bound the receipt time likewise (the
	// Worker's archive cuts it into hours).
	ReceivedSince, ReceivedUntil time.Time
	// AfterSeq skips events up to and including this Seq, for paging.
	AfterSeq int64
	// ThroughSeq, if not 0, stops at this Seq: a snapshot for exports that
	// read the events twice.
	ThroughSeq int64
	// Limit caps the number of events; 0 means no limit.
	Limit int
}

// EventReader is implemented by stores that can give their events back.
type EventReader interface {
	Events(ctx context.Context, f EventFilter) iter.Seq2[*StoredEvent, error]
}

// AssignEventIDs gives every event of r without an eventId a new UUIDv7.
// It is the one place eventIds are made: the ingest handler calls it after
// validation and before Store.PutEvents, so that every store gets ids
// already, and a store that hands the batch on (the Worker's queue, which
// may deliver it twice) stores the same ids twice and the second delivery
// is dropped as duplicates.
func AssignEventIDs(r *event.Request) error {
	for i := range r.EventList {
		if r.EventList[i].EventID == nil {
			id, err := uuid.NewV7()
			if err != nil {
				return fmt.Errorf("generate eventId: %w", err)
			}
			r.EventList[i].EventID = event.String(id.String())
		}
	}
	return nil
}

// TrackerStats is one tracker's totals, for the admin API.
type TrackerStats struct {
	Tracker
	Events         int64
	Rejected       int64 // rejections still kept
	LastReceivedAt time.Time
}

// Admin is what the read/admin API needs of a store.
type Admin interface {
	EventReader
	Rejected(ctx context.Context, trackingID string, limit int) ([]*Rejection, error)
	// DeleteEvents deletes trackingID's events (all if empty), for
	// resetting a test collector.
	DeleteEvents(ctx context.Context, trackingID string) (int64, error)
	Stats(ctx context.Context) ([]*TrackerStats, error)
}
