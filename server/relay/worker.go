package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/server"
)

// Config is what New needs. Store and Sender are required.
type Config struct {
	Store  Store
	Sender Sender
	// Observer, if set, hears about every relayed, refused and retried
	// event, for metrics.
	Observer Observer
	Logger   *slog.Logger
	// Clock is nil for the real one.
	Clock Clock
	// Poll is how often an idle relay looks for new events and links;
	// 0 means one second.
	Poll time.Duration
	// Backoff between retries; zero means DefaultBackoff.
	Backoff Backoff
	// Window is how many events after the cursor are read, grouped into
	// requests and sent before the cursor moves; 0 means 100.
	Window int
	// Parallel is how many requests of a window are in flight at once;
	// 0 means 8. (Sessions of one event each would otherwise go one
	// round trip at a time.)
	Parallel int
}

// lagEvery is how often a draining backlog is counted for Observer.Lag.
const lagEvery = 10 * time.Second

// Relay runs one worker per link. Create it with New and call Run.
type Relay struct {
	cfg Config
	log *slog.Logger
	clk Clock
}

// New returns a relay for cfg.
func New(cfg Config) *Relay {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Backoff.Base <= 0 || cfg.Backoff.Max < cfg.Backoff.Base {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Window <= 0 {
		cfg.Window = 100
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 8
	}
	r := &Relay{cfg: cfg, log: cfg.Logger, clk: cfg.Clock}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.clk == nil {
		r.clk = realClock{}
	}
	return r
}

// Run relays until ctx ends: it reads the links every Poll and keeps one
// worker running per link, restarting a worker whose link changed.
func (r *Relay) Run(ctx context.Context) {
	type running struct {
		link   *Link
		cancel context.CancelFunc
	}
	workers := map[string]running{}
	var wg sync.WaitGroup
	defer func() {
		for _, w := range workers {
			w.cancel()
		}
		wg.Wait()
	}()
	for {
		links, err := r.cfg.Store.Links(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("relay: read links", "err", err)
		}
		if err == nil {
			seen := map[string]bool{}
			for _, l := range links {
				seen[l.TrackingID] = true
				if w, ok := workers[l.TrackingID]; ok && w.link.sameTarget(l) {
					continue
				} else if ok {
					w.cancel() // relinked: start again from the stored cursor
				}
				wctx, cancel := context.WithCancel(ctx)
				workers[l.TrackingID] = running{l, cancel}
				wg.Add(1)
				go func() {
					defer wg.Done()
					r.work(wctx, l)
				}()
			}
			for id, w := range workers {
				if !seen[id] {
					w.cancel()
					delete(workers, id)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-r.clk.After(r.cfg.Poll):
		}
	}
}

// work relays l's events from its cursor until ctx ends.
func (r *Relay) work(ctx context.Context, l *Link) {
	log := r.log.With("tracking_id", l.TrackingID, "personalize_tracking_id", l.PersonalizeTrackingID)
	log.Info("relay: started", "cursor", l.Cursor, "url", l.URL())
	cursor := l.Cursor
	var lagAt time.Time // when lag was last counted while busy
	busy := true        // until a read finds nothing after the cursor
	for ctx.Err() == nil {
		events, err := r.window(ctx, l.TrackingID, cursor)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("relay: read events", "err", err)
			}
		} else if len(events) > 0 {
			if through, ok := r.relayWindow(ctx, l, events, log); ok {
				cursor, busy = through, true
				// Counting what waits costs as much as what waits: while
				// a backlog drains, count it now and then only.
				if now := r.clk.Now(); lagAt.IsZero() || now.Sub(lagAt) >= lagEvery {
					lagAt = now
					r.reportLag(ctx, l.TrackingID, cursor)
				}
				continue // more may be waiting
			}
		} else {
			r.reportLag(ctx, l.TrackingID, cursor)
			if busy {
				// Once per backlog, not per poll: everything stored
				// when the read began has been relayed or refused.
				busy = false
				log.Debug("relay: caught up", "cursor", cursor)
			}
		}
		select {
		case <-ctx.Done():
		case <-r.clk.After(r.cfg.Poll):
		}
	}
}

func (r *Relay) window(ctx context.Context, trackingID string, after int64) ([]*server.StoredEvent, error) {
	var out []*server.StoredEvent
	for e, err := range r.cfg.Store.Events(ctx, server.EventFilter{TrackingID: trackingID, AfterSeq: after, Limit: r.cfg.Window}) {
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// relayWindow sends events in requests, retrying each until Personalize
// accepts or refuses it, then moves the cursor past them. It reports false
// if ctx ended first: the cursor stays, and the window is sent again.
func (r *Relay) relayWindow(ctx context.Context, l *Link, events []*server.StoredEvent, log *slog.Logger) (int64, bool) {
	reqs := group(events)
	type result struct {
		relayed  int
		refusals []*Refusal
		ok       bool
	}
	results := make([]result, len(reqs))
	sem := make(chan struct{}, r.cfg.Parallel)
	var wg sync.WaitGroup
	for i, req := range reqs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			n, refs, ok := r.deliver(ctx, l, req, log)
			results[i] = result{n, refs, ok}
		}()
	}
	wg.Wait()
	relayed := 0
	var refusals []*Refusal
	for _, res := range results {
		if !res.ok {
			return 0, false
		}
		relayed += res.relayed
		refusals = append(refusals, res.refusals...)
	}
	through := events[len(events)-1].Seq
	// The cursor must move even if ctx ended meanwhile: Personalize has
	// the events. context.WithoutCancel keeps the write from being cut.
	if err := r.cfg.Store.Advance(context.WithoutCancel(ctx), l.TrackingID, through, relayed, refusals, r.clk.Now()); err != nil {
		log.Error("relay: move cursor", "err", err)
		return 0, false
	}
	if o := r.cfg.Observer; o != nil {
		o.Relayed(l.TrackingID, relayed)
		refused := 0
		for _, rf := range refusals {
			refused += len(rf.EventIDs)
		}
		if refused > 0 {
			o.Refused(l.TrackingID, refused)
		}
	}
	return through, true
}

// deliver sends one request until it is accepted or refused. A refused
// request of several events is sent again event by event, so that one bad
// event does not take its neighbours with it. It returns how many events
// Personalize accepted and what it refused, or false if ctx ended.
func (r *Relay) deliver(ctx context.Context, l *Link, req *request, log *slog.Logger) (int, []*Refusal, bool) {
	refused, ok := r.send(ctx, l, req, log)
	switch {
	case !ok:
		return 0, nil, false
	case refused == nil:
		return len(req.events), nil, true
	case len(req.events) == 1:
		log.Warn("relay: Personalize refused an event", "seq", req.events[0].Seq, "err", refused)
		return 0, []*Refusal{req.refusal(l.TrackingID, refused, r.clk.Now())}, true
	}
	relayed := 0
	var refusals []*Refusal
	for _, one := range req.split() {
		n, refs, ok := r.deliver(ctx, l, one, log)
		if !ok {
			return 0, nil, false
		}
		relayed += n
		refusals = append(refusals, refs...)
	}
	return relayed, refusals, true
}

// send posts req until Personalize answers it: nil if it accepted, the
// refusal if it refused. It reports false if ctx ended first.
func (r *Relay) send(ctx context.Context, l *Link, req *request, log *slog.Logger) (*Refused, bool) {
	body, err := event.MarshalRequest(req.wire(l.PersonalizeTrackingID))
	if err != nil {
		// Stored events passed validation; one that cannot be written
		// (a NaN) is refused here as Personalize would refuse it.
		return &Refused{Status: 400, ErrorType: "InvalidInputException", Message: err.Error()}, true
	}
	for attempt := 0; ; attempt++ {
		err := r.cfg.Sender.PutEvents(ctx, l, body)
		if err == nil {
			return nil, true
		}
		if refused, ok := errors.AsType[*Refused](err); ok {
			return refused, true
		}
		if ctx.Err() != nil {
			return nil, false
		}
		reason := reasonOf(err)
		if o := r.cfg.Observer; o != nil {
			o.Retried(l.TrackingID, reason)
		}
		wait := r.cfg.Backoff.Delay(attempt)
		log.Warn("relay: retrying", "reason", reason, "err", err, "attempt", attempt+1, "wait", wait)
		if err := r.cfg.Store.RecordError(ctx, l.TrackingID, fmt.Sprintf("%s: %v", reason, err), r.clk.Now()); err != nil && ctx.Err() == nil {
			log.Warn("relay: record error", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-r.clk.After(wait):
		}
	}
}

func (r *Relay) reportLag(ctx context.Context, trackingID string, cursor int64) {
	if r.cfg.Observer == nil {
		return
	}
	n, oldest, err := r.cfg.Store.Pending(ctx, trackingID, cursor)
	if err != nil {
		return
	}
	var age time.Duration
	if n > 0 {
		age = max(r.clk.Now().Sub(oldest), 0)
	}
	r.cfg.Observer.Lag(trackingID, n, age)
}
