package server

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracklet/tracklet/event"
)

// Rejection is a request the collector refused, kept so that users can see
// what their sites send wrong. Whatever the client sent, a stored
// Rejection is bounded: see Bound.
type Rejection struct {
	ID         int64 // assigned by the store
	ReceivedAt time.Time
	TrackingID string // empty when the body had none or could not be read
	Status     int    // the HTTP status answered
	Reason     string // the message answered
	Origin     string
	Body       string // the start of the body
}

// Bounds of a kept rejection, in bytes. A refused request may carry a
// trackingId as long as the body and an Origin as long as the headers;
// what is kept of it is cut to these, so that a flood of bloated requests
// costs a bounded amount of disk and memory per row, and (with the row
// and byte bounds of the log, DefaultMaxRejected and
// DefaultMaxRejectedBytes) in all.
const (
	// MaxRejectedBody is how much of the body is kept.
	MaxRejectedBody = 4096
	// MaxRejectedReason bounds the reason (the message answered).
	MaxRejectedReason = 2048
	// MaxRejectedTrackingID holds every valid trackingId whole (at most
	// event.MaxIDLength characters of up to four bytes each).
	MaxRejectedTrackingID = event.MaxIDLength * utf8.UTFMax
	// MaxRejectedOrigin holds every real origin whole: a scheme, a DNS
	// name (at most 253 bytes) and a port.
	MaxRejectedOrigin = 512
	// MaxRejectedRowBytes is the most a kept rejection's text takes.
	MaxRejectedRowBytes = MaxRejectedBody + MaxRejectedReason + MaxRejectedTrackingID + MaxRejectedOrigin

	// DefaultMaxRejected is how many rejections a log keeps unless told
	// otherwise...
	DefaultMaxRejected = 10000
	// ...and DefaultMaxRejectedBytes how many bytes of them (Size): the
	// newest are kept, whichever bound is reached first.
	DefaultMaxRejectedBytes = 8 << 20
)

// Bound cuts r's values to the Max* bounds above, each at a rune boundary
// and valid UTF-8 (what the client sent may not be). Stores call it before
// writing, and the handler before queueing, so that no unbounded value is
// held even in memory.
func (r *Rejection) Bound() {
	r.TrackingID = CutUTF8(r.TrackingID, MaxRejectedTrackingID)
	r.Reason = CutUTF8(r.Reason, MaxRejectedReason)
	r.Origin = CutUTF8(r.Origin, MaxRejectedOrigin)
	r.Body = CutUTF8(r.Body, MaxRejectedBody)
}

// Size is what r's text takes, in bytes: what the byte bound of a
// rejection log counts.
func (r *Rejection) Size() int {
	return len(r.TrackingID) + len(r.Reason) + len(r.Origin) + len(r.Body)
}

// cutUTF8 returns the longest valid UTF-8 prefix of s (invalid bytes
// replaced) of at most n bytes, never splitting a rune.
func CutUTF8(s string, n int) string {
	if len(s) > n {
		// A copy, not a slice: a slice would keep the client's whole
		// value alive for as long as the rejection is.
		s = strings.Clone(s[:n])
	}
	if !utf8.ValidString(s) {
		// Replacing invalid UTF-8 (a rune cut above, or the client's own)
		// can lengthen s: cut again below.
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// RejectionLog keeps the most recent rejections, bounded in number and in
// bytes.
type RejectionLog interface {
	// RecordRejected logs r without waiting for the disk: losing a
	// rejection in a crash is acceptable, slowing ingest for it is not.
	RecordRejected(r *Rejection)
	// Rejected returns the newest rejections first, optionally for one
	// tracker only.
	Rejected(ctx context.Context, trackingID string, limit int) ([]*Rejection, error)
}
