package server

import (
	"context"
	"time"
)

// What the dashboard shows, and over which spans of time.
const (
	// DashboardMinutes is how many one-minute buckets the traffic chart
	// has: the last hour, the current minute included.
	DashboardMinutes = 60
	// ActiveSessionWindow is how recently a session must have sent an
	// event to count as active.
	ActiveSessionWindow = 30 * time.Minute
	// MedianSample bounds how many of the most recent events the delay
	// and skew medians are computed over, so that their cost stays flat
	// however busy a tracker is.
	MedianSample = 10000
)

// TrafficStats summarises one tracker's recent traffic for the dashboard.
type TrafficStats struct {
	TrackingID string
	// From is the start of the first minute of PerMinute; Now is when the
	// stats were read.
	From, Now time.Time
	// PerMinute counts the events received in each minute from From,
	// oldest first; the last bucket is the current, unfinished minute.
	PerMinute []int64
	// Events is the sum of PerMinute.
	Events int64
	// ByEventType counts the same events by eventType, most frequent
	// first.
	ByEventType []TypeCount
	// Rejected counts the tracker's rejected requests since From.
	Rejected int64
	// ActiveSessions counts the sessions with an event received within
	// ActiveSessionWindow.
	ActiveSessions int64
	// Sampled is how many events MedianDelay and MedianSkew are computed
	// over (the most recent, at most MedianSample); 0 means no medians.
	Sampled int
	// MedianDelay is the median time from an event happening to its
	// arrival (receivedAt − occurredAt): batching and network, with the
	// client's clock skew taken out where the client reported its send
	// time.
	MedianDelay time.Duration
	// MedianSkew is the median of how far the clients' clocks are ahead
	// of the collector's (sentAt − occurredAt); negative when behind.
	// Events from clients that do not report their send time count as 0.
	MedianSkew time.Duration
}

// TypeCount is how many events of one eventType there were.
type TypeCount struct {
	EventType string
	Count     int64
}

// StreamFilter selects events for the dashboard's live stream by exact
// match; empty members match anything.
type StreamFilter struct {
	TrackingID, EventType, UserID, SessionID string
}

// DashboardReader is implemented by stores that can feed the dashboard.
type DashboardReader interface {
	// TrafficStats summarises trackingID's last DashboardMinutes minutes
	// up to now.
	TrafficStats(ctx context.Context, trackingID string, now time.Time) (*TrafficStats, error)
	// LastSeq returns the Seq of the newest stored event, 0 if none.
	LastSeq(ctx context.Context) (int64, error)
	// RecentEvents returns up to limit of the newest events that f selects,
	// received since since and with a Seq above afterSeq, oldest first.
	RecentEvents(ctx context.Context, f StreamFilter, since time.Time, afterSeq int64, limit int) ([]*StoredEvent, error)
	// EventsAfter returns up to limit events of any tracker with a Seq
	// above afterSeq, in Seq order: what was stored since the last look.
	EventsAfter(ctx context.Context, afterSeq int64, limit int) ([]*StoredEvent, error)
}
