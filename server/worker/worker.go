// Package worker runs the collector on Cloudflare Workers: the HTTP API of
// package http, trackers in D1, and accepted batches handed to a Cloudflare
// Queue whose consumer (the same worker) writes them to D1.
//
// The hand-off makes a 2xx mean "the queue has the batch": ingest latency
// does not depend on D1's write speed, and D1 gets few large inserts
// instead of many small ones. Queues deliver at least once, so a batch may
// be written twice (a consumer that fails after some of its inserts, a lost
// ack); every event carries its eventId from the moment it is enqueued and
// events has a unique index on (tracking_id, event_id), so the second write
// stores nothing. At-least-once delivery, exactly-once storage.
//
// This package is plain Go, testable natively; cmd/worker binds it to the
// Workers runtime (syumai/workers) under GOOS=js GOARCH=wasm.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
	"github.com/tracklet/tracklet/server/d1"
)

// Queue takes a message for the consumer; a nil error means the queue has
// stored it durably.
type Queue interface {
	Send(ctx context.Context, body string) error
}

// Store is the worker's server.Store: reads come from D1, writes go to the
// queue.
type Store struct {
	*d1.DB
	Queue Queue
	// Trackers, if not nil, answers Tracker and OriginAllowed in DB's
	// place: a TrackerCache over it.
	Trackers server.TrackerReader
}

var _ server.Store = (*Store)(nil)

// Tracker returns the tracker with trackingId id.
func (s *Store) Tracker(ctx context.Context, id string) (*server.Tracker, error) {
	if s.Trackers != nil {
		return s.Trackers.Tracker(ctx, id)
	}
	return s.DB.Tracker(ctx, id)
}

// OriginAllowed reports whether some enabled tracker accepts origin.
func (s *Store) OriginAllowed(ctx context.Context, origin string) (bool, error) {
	if s.Trackers != nil {
		return s.Trackers.OriginAllowed(ctx, origin)
	}
	return s.DB.OriginAllowed(ctx, origin)
}

// PutEvents enqueues b, whose events all have an eventId already (the
// handler assigns them, server.AssignEventIDs), so that a redelivered
// message carries the same ids. The result counts every event as accepted:
// whether some are duplicates is known only when the consumer stores them.
func (s *Store) PutEvents(ctx context.Context, b *server.Batch) (server.PutResult, error) {
	// Checked before anything is sent: a batch split in halves must not
	// be half enqueued.
	for _, e := range b.Request.EventList {
		if e.EventID == nil {
			return server.PutResult{}, errors.New("enqueue batch: an event has no eventId")
		}
	}
	if err := s.send(ctx, b); err != nil {
		return server.PutResult{}, err
	}
	return server.PutResult{Accepted: len(b.Request.EventList)}, nil
}

// MaxMessageBytes is the most a queue message carries: Cloudflare Queues
// take 128 KB per message, some of it their own metadata.
const MaxMessageBytes = 120 << 10

// send enqueues b as one message, or, if that would pass MaxMessageBytes
// (a request of ten events near their size limits, whose strings JSON
// escapes, can), as the messages of its halves.
func (s *Store) send(ctx context.Context, b *server.Batch) error {
	msg, err := EncodeBatch(b)
	if err != nil {
		return err
	}
	if len(msg) > MaxMessageBytes && len(b.Request.EventList) > 1 {
		half := len(b.Request.EventList) / 2
		for _, events := range [][]event.Event{b.Request.EventList[:half], b.Request.EventList[half:]} {
			part := *b
			req := *b.Request
			req.EventList = events
			part.Request = &req
			if err := s.send(ctx, &part); err != nil {
				return err
			}
		}
		return nil
	}
	if len(msg) > MaxMessageBytes {
		return fmt.Errorf("enqueue batch: one event takes %d bytes, more than a queue message's %d", len(msg), MaxMessageBytes)
	}
	if err := s.Queue.Send(ctx, msg); err != nil {
		return fmt.Errorf("enqueue batch: %w", err)
	}
	return nil
}

// message is a queue message: one accepted request. Times are Unix
// milliseconds.
type message struct {
	ReceivedAt   int64          `json:"receivedAtMs"`
	ClientSentAt int64          `json:"clientSentAtMs,omitempty"`
	Request      *event.Request `json:"request"`
}

// EncodeBatch writes b as a queue message. Every event must have an
// eventId.
func EncodeBatch(b *server.Batch) (string, error) {
	for _, e := range b.Request.EventList {
		if e.EventID == nil {
			return "", errors.New("encode batch: an event has no eventId")
		}
	}
	m := message{ReceivedAt: b.ReceivedAt.UnixMilli(), Request: b.Request}
	if !b.ClientSentAt.IsZero() {
		m.ClientSentAt = b.ClientSentAt.UnixMilli()
	}
	j, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode batch: %w", err)
	}
	return string(j), nil
}

// DecodeBatch reads a message EncodeBatch wrote.
//
// It unmarshals the request with encoding/json rather than
// event.DecodeRequest: the message is our own output, already validated,
// and DecodeRequest's leniency (a sentAt of 1e11 or more read as
// milliseconds) would misread a valid far-future sentAt.
func DecodeBatch(body string) (*server.Batch, error) {
	var m message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return nil, fmt.Errorf("decode batch: %w", err)
	}
	if m.Request == nil || m.ReceivedAt == 0 || len(m.Request.EventList) == 0 {
		return nil, errors.New("decode batch: not a batch message")
	}
	b := &server.Batch{Request: m.Request, ReceivedAt: time.UnixMilli(m.ReceivedAt)}
	if m.ClientSentAt != 0 {
		b.ClientSentAt = time.UnixMilli(m.ClientSentAt)
	}
	for _, e := range b.Request.EventList {
		if e.EventID == nil {
			return nil, errors.New("decode batch: an event has no eventId")
		}
	}
	return b, nil
}

// RejectionLog is the worker's server.RejectionLog: rejections go to D1's
// rejected table in the background, after the answer. Go runs them with
// spawn, which must keep the invocation alive until they finish (the
// Workers runtime's waitUntil).
type RejectionLog struct {
	DB    *d1.DB
	Spawn func(func())
	Log   *slog.Logger
}

var _ server.RejectionLog = (*RejectionLog)(nil)

// RecordRejected logs r without delaying the answer. A failure is logged
// and otherwise ignored: a lost rejection costs less than a slow refusal.
func (l *RejectionLog) RecordRejected(r *server.Rejection) {
	l.Spawn(func() {
		if err := l.DB.InsertRejected(context.Background(), r); err != nil && l.Log != nil {
			l.Log.Warn("log rejected request", "err", err)
		}
	})
}

// Rejected returns up to limit rejections, newest first.
func (l *RejectionLog) Rejected(ctx context.Context, trackingID string, limit int) ([]*server.Rejection, error) {
	return l.DB.Rejected(ctx, trackingID, limit)
}

// RejoinHeaders undoes what syumai/workers does to request headers: it
// splits every header value at each comma into separate values, so
// Header.Get("Access-Control-Request-Headers") sees only the first of a
// list ("content-type" of "content-type, x-tracklet-sent-at"). The Workers
// runtime has already joined repeated headers with commas, as Fetch's
// Headers does, so joining the pieces with "," restores the exact value.
func RejoinHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range r.Header {
			if len(v) > 1 {
				r.Header[k] = []string{strings.Join(v, ",")}
			}
		}
		h.ServeHTTP(w, r)
	})
}
