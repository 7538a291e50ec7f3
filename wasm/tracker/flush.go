package tracker

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/tracklet/tracklet/event"
)

// Flush sends every queued event now, in requests of at most BatchSize
// events that each hold one session and one user, in the order tracked.
//
// A failure that may pass (network, 408, 429, 5xx) stops the flush: the
// unsent events stay queued, in order, and the next attempt is scheduled
// with exponential backoff and full jitter, no sooner than the collector's
// Retry-After. Each event is tried at most MaxAttempts times and for at
// most MaxAge. A request the collector refuses for good (other 4xx) is
// dropped and reported, and the flush goes on; 413 splits the request in
// halves until a single event is refused, which is dropped.
func (t *Tracker) Flush(ctx context.Context) Result {
	return t.flush(ctx, false)
}

// flush is Flush; with follow, it also sends the full batches queued while
// it runs.
func (t *Tracker) flush(ctx context.Context, follow bool) Result {
	t.sendMu.Lock()
	defer t.sendMu.Unlock()

	t.mu.Lock()
	if t.consent != ConsentGranted {
		t.mu.Unlock()
		return Result{}
	}
	due := len(t.queue) // events tracked during the flush wait for the next
	t.mu.Unlock()

	var (
		res        Result
		notices    []Notice
		retry      bool
		retryAfter time.Duration
		taken      int // events taken from the queue
		sent       []string
		gone       []string // dropped: to be deleted from the store
		failedReqs int      // requests that failed and will be retried
		failedEvs  int      // events in requests that failed, either way
	)
	drop := func(b []entry, err error) {
		ids := eventIDs(b)
		gone = append(gone, ids...)
		notices = append(notices, Notice{Kind: Dropped, EventIDs: ids, Err: err})
	}

	// Batches leave the queue just before they are sent: until then
	// Unload (a page being left) can still take them. Up to MaxInFlight
	// requests are on the wire at once, a new one leaving as soon as the
	// oldest is answered; answers are taken in the order the requests
	// left, as if they had come one by one.
	type flight struct {
		b    []entry
		done chan error
	}
	var (
		window  []*flight
		requeue []entry // failed, to go back to the front of the queue
		// Up to MaxInFlight goroutines send, each many requests in turn:
		// one per request paid for a new goroutine's stack growth every
		// time (runtime.copystack was 3% of the benchmark's main thread).
		jobs    = make(chan *flight)
		senders int
	)
	defer close(jobs)
	settled := func(n int) {
		t.mu.Lock()
		t.inFlight -= n
		t.mu.Unlock()
	}
	// launch sends the next batch, if one is due; false when none is.
	launch := func() bool {
		for {
			t.mu.Lock()
			if follow && taken >= due && len(t.queue) >= t.cfg.BatchSize && t.consent == ConsentGranted {
				// A background flush also takes the batches filled
				// while it runs, so that requests keep leaving.
				due = taken + len(t.queue)
			}
			if taken >= due || len(t.queue) == 0 {
				t.mu.Unlock()
				return false
			}
			b := firstBatch(t.queue, min(t.cfg.BatchSize, due-taken))
			t.queue = t.queue[len(b):]
			t.inFlight += len(b)
			t.mu.Unlock()
			taken += len(b)

			// Give up events that waited too long, whatever happens next.
			now := t.clock.Now()
			var live, expired []entry
			for _, e := range b {
				if now.Sub(e.queuedAt) > t.cfg.MaxAge {
					expired = append(expired, e)
				} else {
					live = append(live, e)
				}
			}
			if len(expired) > 0 {
				drop(expired, errors.New("not delivered within "+t.cfg.MaxAge.String()))
				settled(len(expired))
			}
			if len(live) == 0 {
				continue
			}
			f := &flight{b: live, done: make(chan error, 1)}
			window = append(window, f)
			if senders < t.cfg.MaxInFlight {
				senders++
				go func() {
					for f := range jobs {
						f.done <- t.transport.Send(ctx, t.request(f.b))
					}
				}()
			}
			jobs <- f // a sender is free: fewer than MaxInFlight are unanswered
			return true
		}
	}

	for {
		for !retry && len(window) < t.cfg.MaxInFlight && launch() {
		}
		if len(window) == 0 {
			break
		}
		f := window[0]
		window = window[1:]
		type attempt struct {
			b    []entry
			err  error
			sent bool // err is the answer already
		}
		requeued := len(requeue)
		work := []attempt{{b: f.b, err: <-f.done, sent: true}}
		for len(work) > 0 {
			a := work[0]
			work = work[1:]
			if !a.sent {
				if retry {
					requeue = append(requeue, a.b...)
					continue
				}
				a.err = t.transport.Send(ctx, t.request(a.b))
			}
			err, b := a.err, a.b
			var se *SendError
			switch {
			case err == nil:
				res.Sent += len(b)
				ids := eventIDs(b)
				sent = append(sent, ids...)
				notices = append(notices, Notice{Kind: Sent, EventIDs: ids})
			case errors.As(err, &se) && se.Status == 413 && len(b) > 1:
				// Too large for the collector: try each half on its own.
				half := len(b) / 2
				work = append([]attempt{{b: b[:half:half]}, {b: b[half:]}}, work...)
			case IsRetryable(err):
				retry = true
				failedReqs++
				failedEvs += len(b)
				var out, again []entry
				for _, e := range b {
					e.attempts++
					if e.attempts >= t.cfg.MaxAttempts {
						out = append(out, e)
					} else {
						again = append(again, e)
					}
				}
				if len(out) > 0 {
					drop(out, errors.New("gave up after "+strconv.Itoa(t.cfg.MaxAttempts)+" attempts: "+err.Error()))
				}
				if se != nil {
					retryAfter = max(retryAfter, se.RetryAfter)
				}
				if len(again) > 0 {
					requeue = append(requeue, again...)
					notices = append(notices, Notice{Kind: Failed, EventIDs: eventIDs(again), Err: err})
				}
			default:
				failedEvs += len(b)
				drop(b, err)
			}
		}
		settled(len(f.b) - (len(requeue) - requeued)) // the requeued still count
	}
	if len(requeue) > 0 {
		t.mu.Lock()
		t.queue = append(requeue, t.queue...)
		t.inFlight -= len(requeue)
		t.mu.Unlock()
	}
	res.Failed = due - res.Sent

	t.mu.Lock()
	t.stats.Sent += res.Sent
	t.stats.Retries += failedReqs
	t.stats.Dropped += len(gone)
	t.stats.Failed += failedEvs
	if retry {
		t.failures++
		delay := t.backoff(t.failures, retryAfter)
		for i := range notices {
			if notices[i].Kind == Failed {
				notices[i].RetryIn = delay
			}
		}
		t.retrying = true
		t.scheduleLocked(delay)
	} else {
		t.failures = 0
		t.retrying = false
		t.armTimerLocked()
	}
	t.mu.Unlock()

	t.cfg.Store.Delete(append(sent, gone...))
	t.notify(notices)
	return res
}

// backoff returns the wait after the n-th consecutive failure: full
// jitter over an exponentially growing, capped window, but at least what
// the collector asked for.
func (t *Tracker) backoff(n int, retryAfter time.Duration) time.Duration {
	window := t.cfg.RetryMax
	if n < 31 {
		if w := t.cfg.RetryBase << (n - 1); w > 0 && w < window {
			window = w
		}
	}
	d := time.Duration(t.cfg.Rand() * float64(window))
	if d < retryAfter {
		d = retryAfter
	}
	return d
}

// scheduleLocked replaces the pending timer with a flush after d.
func (t *Tracker) scheduleLocked(d time.Duration) {
	if t.stopTimer != nil {
		t.stopTimer()
	}
	t.stopTimer = t.clock.AfterFunc(d, t.onTimer)
}

// request is the PutEvents body for one batch.
func (t *Tracker) request(b []entry) event.Request {
	req := event.Request{
		TrackingID: t.cfg.TrackingID,
		SessionID:  b[0].key.sessionID,
		EventList:  make([]event.Event, len(b)),
	}
	if b[0].key.userID != "" {
		req.UserID = event.String(b[0].key.userID)
	}
	for i, e := range b {
		req.EventList[i] = e.ev
	}
	return req
}

// batches cuts the queue into requests: runs of consecutive events with one
// session and user, at most size long. Order is kept across and within them.
func batches(q []entry, size int) [][]entry {
	var out [][]entry
	for len(q) > 0 {
		b := firstBatch(q, size)
		out = append(out, b)
		q = q[len(b):]
	}
	return out
}

// firstBatch is batches(q, size)[0], without cutting the rest of q: a
// flush takes one batch at a time from a queue of up to MaxQueue events.
func firstBatch(q []entry, size int) []entry {
	end := 1
	for end < len(q) && end < size && q[end].key == q[0].key {
		end++
	}
	return q[:end:end]
}

func eventIDs(b []entry) []string {
	ids := make([]string, len(b))
	for i, e := range b {
		if e.ev.EventID != nil {
			ids[i] = *e.ev.EventID
		}
	}
	return ids
}
