package tracker

import (
	"errors"
	"time"

	"github.com/tracklet/tracklet/event"
)

// DefaultSessionTimeout renews the session after this much inactivity, as
// the established trackers do.
const DefaultSessionTimeout = 30 * time.Minute

// sessionSaveEvery throttles saving the session's last activity: a write
// per event would cost every track call a storage write for little gain.
const sessionSaveEvery = 10 * time.Second

// Consent says whether events may be sent.
type Consent int

const (
	// ConsentGranted sends events; the default.
	ConsentGranted Consent = iota
	// ConsentPending queues events, in memory only and bounded by
	// MaxQueue, until consent is granted or denied.
	ConsentPending
	// ConsentDenied discards events: queued ones and new ones.
	ConsentDenied
)

// ErrNoConsent is Track's answer while consent is denied: the event was
// not recorded, which is what the visitor asked for.
var ErrNoConsent = errors.New("not tracking: consent denied or opted out")

// SetConsent changes the consent state. Granting sends (and persists) what
// waited; denying discards everything queued or saved.
func (t *Tracker) SetConsent(c Consent) {
	t.mu.Lock()
	prev := t.consent
	t.consent = c
	var discarded []entry
	switch {
	case c == ConsentGranted && prev == ConsentPending:
		for _, e := range t.queue {
			t.cfg.Store.Add(e.record())
		}
		t.armTimerLocked()
		if len(t.queue) >= t.cfg.BatchSize {
			t.startFlushLocked()
		}
	case c == ConsentDenied:
		discarded = t.queue
		t.queue = nil
		t.stats.Dropped += len(discarded)
		if t.stopTimer != nil {
			t.stopTimer()
			t.stopTimer = nil
		}
	}
	t.mu.Unlock()
	if len(discarded) > 0 {
		ids := eventIDs(discarded)
		t.cfg.Store.Delete(ids)
		t.notify([]Notice{{Kind: Dropped, EventIDs: ids, Err: ErrNoConsent}})
	}
}

// Consent returns the consent state.
func (t *Tracker) Consent() Consent {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.consent
}

// touchSessionLocked renews the session after SessionTimeout without
// events and remembers the activity in the store.
func (t *Tracker) touchSessionLocked(now time.Time) {
	if !t.lastActivity.IsZero() && now.Sub(t.lastActivity) > t.cfg.SessionTimeout {
		t.key.sessionID = newID()
		t.sessionSaved = time.Time{}
	}
	t.lastActivity = now
	if now.Sub(t.sessionSaved) >= sessionSaveEvery {
		t.sessionSaved = now
		t.cfg.Store.SaveSession(t.key.sessionID, now)
	}
}

// Unload hands the queued events to send, one request at a time, on the
// caller's goroutine: a page being hidden or closed gets no second chance
// to run code. send must start the request before it returns (fetch with
// keepalive), and returns false when it cannot take more (the browsers'
// 64 KB budget for such requests); what it did not take stays queued, and
// saved, for the next page. done settles a request the way Flush would,
// if the page lives to hear the answer. Unload returns the number of
// events handed over.
func (t *Tracker) Unload(send func(req event.Request, done func(error)) bool) int {
	t.mu.Lock()
	if t.consent != ConsentGranted {
		t.mu.Unlock()
		return 0
	}
	pending := t.queue
	t.queue = nil
	t.unloading += len(pending)
	t.mu.Unlock()

	handed := 0
	bs := batches(pending, t.cfg.BatchSize)
	for i, b := range bs {
		b := b
		if !send(t.request(b), func(err error) { t.settleUnload(b, err) }) {
			var rest []entry
			for _, r := range bs[i:] {
				rest = append(rest, r...)
			}
			t.mu.Lock()
			t.queue = append(rest, t.queue...)
			t.unloading -= len(rest)
			t.mu.Unlock()
			break
		}
		handed += len(b)
	}
	return handed
}

// settleUnload records the answer to a request Unload sent.
func (t *Tracker) settleUnload(b []entry, err error) {
	ids := eventIDs(b)
	var n Notice
	t.mu.Lock()
	t.unloading -= len(b)
	switch {
	case err == nil:
		t.stats.Sent += len(b)
		n = Notice{Kind: Sent, EventIDs: ids}
	case IsRetryable(err):
		t.stats.Failed += len(b)
		t.stats.Retries++
		t.queue = append(append([]entry(nil), b...), t.queue...)
		t.armTimerLocked()
		n = Notice{Kind: Failed, EventIDs: ids, Err: err}
	default:
		t.stats.Failed += len(b)
		t.stats.Dropped += len(b)
		n = Notice{Kind: Dropped, EventIDs: ids, Err: err}
	}
	t.mu.Unlock()
	if n.Kind != Failed {
		t.cfg.Store.Delete(ids)
	}
	t.notify([]Notice{n})
}

func (t *Tracker) notify(ns []Notice) {
	if t.cfg.Notify == nil {
		return
	}
	for _, n := range ns {
		t.cfg.Notify(n)
	}
}
