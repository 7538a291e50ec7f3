package live

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/tracklet/tracklet/server"
)

// Source is the store a Feed follows.
type Source interface {
	// LastSeq returns the Seq of the newest stored event.
	LastSeq(ctx context.Context) (int64, error)
	// EventsAfter returns up to limit events with a Seq above afterSeq,
	// in Seq order.
	EventsAfter(ctx context.Context, afterSeq int64, limit int) ([]*server.StoredEvent, error)
}

// Defaults of a Feed.
const (
	// DefaultPoll is how often a Feed looks for new events when nobody
	// tells it (see Stored): for writes by another process, or a handler
	// without the hook.
	DefaultPoll = time.Second
	// MaxLag is how far a Feed may fall behind the store. Beyond it, it
	// skips ahead and tells every subscriber how many events it skipped:
	// a dashboard must never make the collector read its whole backlog.
	MaxLag = 20000
	// MinGap spaces a Feed's reads: under heavy ingest it is woken after
	// every commit, and reading at most maxPages pages every MinGap keeps
	// an open dashboard's cost bounded (at most about 50,000 events a
	// second; a dashboard shows a few hundred rows anyway).
	MinGap   = 100 * time.Millisecond
	maxPages = 5
	pageSize = 1000
)

// Feed publishes each newly stored event to a hub, in Seq order, reading
// the store only while someone subscribes. Reading what was committed,
// rather than being handed events by the ingest path, means a stream shows
// exactly what is stored, duplicates dropped, with the store's Seq for
// resuming, and ingest does nothing but call Stored.
type Feed struct {
	src  Source
	hub  *Hub
	poll time.Duration
	log  *slog.Logger
	wake chan struct{}

	mu   sync.Mutex // held while catching up, and by Subscribe
	last int64      // the newest Seq published; -1 when nobody listens
}

// NewFeed returns a feed from src to hub that polls every poll (DefaultPoll
// if zero) besides being woken by Stored. Start it with Run.
func NewFeed(src Source, hub *Hub, poll time.Duration, log *slog.Logger) *Feed {
	if poll <= 0 {
		poll = DefaultPoll
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Feed{src: src, hub: hub, poll: poll, log: log, wake: make(chan struct{}, 1), last: -1}
}

// Hub returns the hub the feed publishes to.
func (f *Feed) Hub() *Hub { return f.hub }

// Stored tells the feed that events were committed, so that open streams
// show them at once rather than at the next poll. It never blocks and
// costs one atomic load when no stream is open; the ingest path calls it
// after each successful write.
func (f *Feed) Stored() {
	if f == nil || f.hub.Subscribers() == 0 {
		return
	}
	select {
	case f.wake <- struct{}{}:
	default: // a wake-up is pending already; it will see these events too
	}
}

// Subscribe opens a subscription that receives every event stored after
// it returns. A caller that then reads the store's recent events and
// skips, from the subscription, the Seqs it has seen, misses nothing.
func (f *Feed) Subscribe(ctx context.Context, filter server.StreamFilter) (*Subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last < 0 {
		last, err := f.src.LastSeq(ctx)
		if err != nil {
			return nil, err
		}
		f.last = last
	}
	return f.hub.Subscribe(filter)
}

// Run follows the store until ctx ends, then closes the hub, which ends
// every open stream (they would otherwise hold a graceful shutdown).
func (f *Feed) Run(ctx context.Context) {
	defer f.hub.Close()
	tick := time.NewTicker(f.poll)
	defer tick.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		case <-tick.C:
		}
		if gap := MinGap - time.Since(last); gap > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(gap):
			}
		}
		last = time.Now()
		if more := f.catchUp(ctx); more {
			select {
			case f.wake <- struct{}{}: // carry on after the next gap
			default:
			}
		}
	}
}

// catchUp publishes what was stored since the last look, at most
// maxPages pages of it, and reports whether more is waiting.
func (f *Feed) catchUp(ctx context.Context) (more bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hub.Subscribers() == 0 {
		f.last = -1 // and read nothing until someone subscribes
		return false
	}
	for range maxPages {
		evs, err := f.src.EventsAfter(ctx, f.last, pageSize)
		if err != nil {
			if ctx.Err() == nil {
				f.log.Warn("live feed: read new events", "err", err)
			}
			return false
		}
		if len(evs) == 0 {
			return false
		}
		f.hub.Publish(evs...)
		f.last = evs[len(evs)-1].Seq
		if len(evs) < pageSize {
			return false
		}
		// A full page: more are waiting. Skip ahead if they are too many.
		newest, err := f.src.LastSeq(ctx)
		if err != nil {
			return false
		}
		if lag := newest - f.last; lag > MaxLag {
			f.hub.Skipped(lag)
			f.last = newest
			return false
		}
	}
	return true
}
