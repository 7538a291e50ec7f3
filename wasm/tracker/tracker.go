// Package tracker is the browser module's core: it builds and validates
// events, queues them in memory and delivers them in batches through a
// Transport. It knows nothing of JavaScript, so it is tested natively with a
// fake Transport and a fake Clock; package main in the parent directory binds
// it to the browser.
package tracker

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/tracklet/tracklet/event"
)

// Defaults of Config.
const (
	// DefaultBatchSize is PutEvents' maximum: fewer, fuller requests.
	DefaultBatchSize = event.MaxEvents
	// DefaultFlushInterval bounds how long an event waits for its batch.
	DefaultFlushInterval = 5 * time.Second
	// DefaultMaxQueue bounds memory when the collector cannot be reached.
	DefaultMaxQueue = 1000
	// DefaultMaxAttempts and DefaultMaxAge bound retries of one event.
	DefaultMaxAttempts = 10
	DefaultMaxAge      = 24 * time.Hour
	// DefaultRetryBase and DefaultRetryMax shape the backoff: the n-th
	// consecutive failure waits a random time up to min(max, base·2ⁿ⁻¹).
	DefaultRetryBase = time.Second
	DefaultRetryMax  = time.Minute
)

// KeepaliveBudget keeps a page's keepalive bodies under the 64 KB that
// browsers allow in flight for all of them together (the fetch spec's
// keepalive quota). The transport holds its keepalive requests to it, and
// the loader its own (js/src/page.js, held equal by js/consts_test.go).
const KeepaliveBudget = 60 << 10

// ErrQueueFull rejects an event when MaxQueue events already wait: the
// events accepted earlier are kept rather than pushed out.
var ErrQueueFull = errors.New("queue full: too many events wait to be sent; event dropped")

// Config configures a Tracker. Zero values take the defaults.
type Config struct {
	// TrackingID names the tracker at the collector. Required.
	TrackingID string
	// SessionID is the session of the events; a UUIDv7 when empty.
	SessionID string
	// UserID is the signed-in user, if any; see Identify.
	UserID string
	// BatchSize is the most events per request, at most event.MaxEvents.
	// Reaching it in the queue starts a flush.
	BatchSize int
	// FlushInterval is the longest an event waits before a flush.
	FlushInterval time.Duration
	// MaxQueue is the most events kept unsent, in memory.
	MaxQueue int
	// SessionTimeout renews the session after this much inactivity.
	SessionTimeout time.Duration
	// Consent is the initial consent state.
	Consent Consent
	// MaxAttempts is how often one event is tried before it is dropped.
	MaxAttempts int
	// MaxAge is how long after it was queued an event is given up.
	MaxAge time.Duration
	// RetryBase and RetryMax shape the exponential backoff.
	RetryBase, RetryMax time.Duration
	// MaxInFlight is the most requests one flush has on the wire at once;
	// default 1. More let a burst reach the collector in a fraction of
	// the round trips (the collector commits concurrent requests together)
	// at the cost of their order of arrival.
	MaxInFlight int

	// Store keeps unsent events across page loads; nil keeps them in
	// memory only.
	Store Store
	// Notify, when set, hears of every delivery, failure and drop. It is
	// called without locks held, on the goroutine that made the change.
	Notify func(Notice)
	// Rand returns a number in [0, 1) for the backoff's jitter; nil uses
	// math/rand/v2.
	Rand func() float64
}

// withDefaults fills in zero values and checks the rest, naming the field.
func (c Config) withDefaults() (Config, error) {
	if err := event.CheckID("trackingId", c.TrackingID); err != nil {
		return c, err
	}
	if c.SessionID != "" {
		if err := event.CheckID("sessionId", c.SessionID); err != nil {
			return c, err
		}
	}
	if c.UserID != "" {
		if err := event.CheckID("userId", c.UserID); err != nil {
			return c, err
		}
	}
	switch {
	case c.BatchSize == 0:
		c.BatchSize = DefaultBatchSize
	case c.BatchSize < 0 || c.BatchSize > event.MaxEvents:
		return c, &event.FieldError{Field: "batchSize", Rule: "must be between 1 and " + strconv.Itoa(event.MaxEvents)}
	}
	switch {
	case c.FlushInterval == 0:
		c.FlushInterval = DefaultFlushInterval
	case c.FlushInterval < 0:
		return c, &event.FieldError{Field: "flushInterval", Rule: "must be positive"}
	}
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{{"maxQueue", &c.MaxQueue, DefaultMaxQueue}, {"maxAttempts", &c.MaxAttempts, DefaultMaxAttempts}, {"maxInFlight", &c.MaxInFlight, 1}} {
		switch {
		case *f.v == 0:
			*f.v = f.def
		case *f.v < 0:
			return c, &event.FieldError{Field: f.name, Rule: "must be positive"}
		}
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"maxAge", &c.MaxAge, DefaultMaxAge}, {"sessionTimeout", &c.SessionTimeout, DefaultSessionTimeout}, {"retryBase", &c.RetryBase, DefaultRetryBase}, {"retryMax", &c.RetryMax, DefaultRetryMax}} {
		switch {
		case *f.v == 0:
			*f.v = f.def
		case *f.v < 0:
			return c, &event.FieldError{Field: f.name, Rule: "must be positive"}
		}
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.Store == nil {
		c.Store = noStore{}
	}
	return c, nil
}

// Options are the optional members of a tracked event. Nil means absent;
// a pointer to "" is sent as given, and so rejected, as PutEvents would.
type Options struct {
	// EventID replaces the generated UUIDv7, e.g. when replaying history.
	EventID          *string
	ItemID           *string
	EventValue       *float64
	Impression       []string
	RecommendationID *string
	// MetricAttribution is metricAttribution.eventAttributionSource.
	MetricAttribution *string
	// SentAt is when the event occurred; the zero time means now.
	SentAt time.Time
}

// Stats counts what a Tracker did with its events since it was created.
type Stats struct {
	// Queued events wait to be sent, including those being sent now.
	Queued int
	// Sent events were accepted by the collector.
	Sent int
	// Failed counts events in failed send attempts, once per attempt.
	Failed int
	// Dropped events were given up: refused by the collector, out of
	// attempts or too old, or turned away because the queue was full.
	Dropped int
	// Retries counts failed requests that will be tried again.
	Retries int
	// Stored and StoredBytes are what the Store holds, when it says.
	Stored, StoredBytes int
}

// NoticeKind says what happened to the events of a Notice.
type NoticeKind int

const (
	// Sent: the collector accepted the events.
	Sent NoticeKind = iota + 1
	// Failed: a send failed and the events will be tried again.
	Failed
	// Dropped: the events were given up.
	Dropped
)

func (k NoticeKind) String() string {
	switch k {
	case Sent:
		return "sent"
	case Failed:
		return "error"
	case Dropped:
		return "dropped"
	}
	return "NoticeKind(" + strconv.Itoa(int(k)) + ")"
}

// Notice tells Config.Notify what happened to some events.
type Notice struct {
	Kind     NoticeKind
	EventIDs []string
	// Err is why, for Failed and Dropped.
	Err error
	// RetryIn is the wait before the next attempt, for Failed.
	RetryIn time.Duration
}

// Result is what one Flush achieved.
type Result struct {
	// Sent events were accepted by the collector.
	Sent int
	// Failed events were not delivered: they wait for the next flush if
	// the failure may pass, and are dropped otherwise.
	Failed int
}

// Tracker queues events and sends them in batches. Its methods are safe for
// concurrent use.
type Tracker struct {
	cfg       Config
	transport Transport
	clock     Clock

	// sendMu serialises flushes, so batches leave in order and an event is
	// never in two requests at once.
	sendMu sync.Mutex

	mu        sync.Mutex // guards everything below
	key       batchKey   // session and user of the next event
	queue     []entry
	inFlight  int         // events taken by the running flush
	stopTimer func() bool // cancels the pending timer (interval or retry)
	flushing  bool        // a background flush is scheduled or running
	retrying  bool        // the last flush failed; wait for the retry timer
	failures  int         // consecutive failed flushes, for the backoff
	unloading int         // events handed to Unload's requests
	consent   Consent
	stats     Stats

	lastActivity time.Time // of the last event, for the session timeout
	sessionSaved time.Time // when the session was last saved
}

// batchKey is what every event of one request shares.
type batchKey struct{ sessionID, userID string }

type entry struct {
	key      batchKey
	ev       event.Event
	queuedAt time.Time
	attempts int
}

// New returns a Tracker sending through transport and timed by clock.
func New(cfg Config, transport Transport, clock Clock) (*Tracker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	t := &Tracker{
		cfg:       cfg,
		transport: transport,
		clock:     clock,
		key:       batchKey{sessionID: cfg.SessionID, userID: cfg.UserID},
		consent:   cfg.Consent,
	}
	if t.key.sessionID == "" {
		// Continue the session of the site's previous page, unless it
		// has been idle too long.
		id, last := cfg.Store.Session()
		if id != "" && clock.Now().Sub(last) <= cfg.SessionTimeout {
			t.key.sessionID, t.lastActivity, t.sessionSaved = id, last, last
		} else {
			t.key.sessionID = newID()
		}
	}
	// Events an earlier page (or a closed tab) left unsent go first.
	for _, r := range cfg.Store.Claim() {
		if len(t.queue) == cfg.MaxQueue {
			break
		}
		t.queue = append(t.queue, entry{key: batchKey{r.SessionID, r.UserID}, ev: r.Event, queuedAt: r.QueuedAt})
	}
	t.armTimerLocked()
	return t, nil
}

// Config returns the configuration in use, defaults filled in.
func (t *Tracker) Config() Config { return t.cfg }

// BuildEvent returns the validated event Track would queue, without queueing
// it. Its eventId is a new UUIDv7 and its sentAt the clock's time, unless
// opts give them. The error names the member and the rule it breaks.
func (t *Tracker) BuildEvent(eventType string, props map[string]any, opts Options) (event.Event, error) {
	ev := event.Event{
		EventID:          opts.EventID,
		EventType:        eventType,
		EventValue:       opts.EventValue,
		ItemID:           opts.ItemID,
		Impression:       opts.Impression,
		RecommendationID: opts.RecommendationID,
	}
	if ev.EventID == nil {
		ev.EventID = event.String(newID())
	}
	if opts.MetricAttribution != nil {
		ev.MetricAttribution = &event.MetricAttribution{EventAttributionSource: *opts.MetricAttribution}
	}
	sentAt := opts.SentAt
	if sentAt.IsZero() {
		sentAt = t.clock.Now()
	}
	ev.SentAt = event.TimestampOf(sentAt)
	if len(props) > 0 {
		s, err := event.EncodeProperties(props)
		if err != nil {
			return event.Event{}, err
		}
		ev.Properties = &s
		if encodedValid(props, s) {
			// Validate would parse the JSON again, token by token: in the
			// browser that is two thirds of a track call. It can only
			// confirm what EncodeProperties just did.
			ev.Properties = nil
			err := ev.Validate()
			ev.Properties = &s
			if err != nil {
				return event.Event{}, err
			}
			return ev, nil
		}
	}
	if err := ev.Validate(); err != nil {
		return event.Event{}, err
	}
	return ev, nil
}

// encodedValid reports whether s, which EncodeProperties made from props,
// is sure to pass Validate's properties rule: its keys are camelCase and
// its values scalars by construction, so only the length and a json.Number
// (written out as given, so perhaps not a number) remain to check.
func encodedValid(props map[string]any, s string) bool {
	if len(s) > event.MaxPropertiesLength && utf8.RuneCountInString(s) > event.MaxPropertiesLength {
		return false
	}
	for _, v := range props {
		if _, ok := v.(json.Number); ok {
			return false
		}
	}
	return true
}

// Track builds an event as BuildEvent does and queues it for sending. A
// full batch in the queue starts a flush in the background; otherwise the
// event leaves at the latest after FlushInterval.
func (t *Tracker) Track(eventType string, props map[string]any, opts Options) (event.Event, error) {
	ev, err := t.BuildEvent(eventType, props, opts)
	if err != nil {
		return event.Event{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.consent == ConsentDenied {
		return event.Event{}, ErrNoConsent
	}
	if len(t.queue)+t.inFlight+t.unloading >= t.cfg.MaxQueue {
		t.stats.Dropped++
		return event.Event{}, ErrQueueFull
	}
	now := t.clock.Now()
	t.touchSessionLocked(now)
	e := entry{key: t.key, ev: ev, queuedAt: now}
	t.queue = append(t.queue, e)
	if t.consent == ConsentPending {
		return ev, nil // kept in memory only until consent is given
	}
	// Saved while the lock is held, so the store sees events in order.
	t.cfg.Store.Add(e.record())
	t.armTimerLocked()
	if len(t.queue) >= t.cfg.BatchSize && !t.retrying {
		t.startFlushLocked()
	}
	return ev, nil
}

// Identify sets the user of the events tracked from now on. Events already
// queued keep the user they were tracked with.
func (t *Tracker) Identify(userID string) error {
	if err := event.CheckID("userId", userID); err != nil {
		return err
	}
	t.mu.Lock()
	t.key.userID = userID
	t.mu.Unlock()
	return nil
}

// Reset forgets the user and starts a new session, as on signing out.
func (t *Tracker) Reset() { t.ResetTo(newID()) }

// ResetTo is Reset with the new session's id given: the loader picks it
// when it runs the call, so that what it journals after a reset carries
// the session the module uses.
func (t *Tracker) ResetTo(sessionID string) {
	t.mu.Lock()
	t.key = batchKey{sessionID: sessionID}
	t.sessionSaved = time.Time{}
	t.cfg.Store.SaveSession(t.key.sessionID, t.clock.Now())
	t.mu.Unlock()
}

// SessionID returns the session of the next event.
func (t *Tracker) SessionID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.key.sessionID
}

// Stats returns the counters.
func (t *Tracker) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Queued = len(t.queue) + t.inFlight + t.unloading
	s.Stored, s.StoredBytes = t.cfg.Store.Usage()
	return s
}

// armTimerLocked schedules the interval flush when events wait and none is
// scheduled. An idle tracker has no timer running.
func (t *Tracker) armTimerLocked() {
	if t.stopTimer != nil || len(t.queue) == 0 || t.consent != ConsentGranted {
		return
	}
	t.stopTimer = t.clock.AfterFunc(t.cfg.FlushInterval, t.onTimer)
}

func (t *Tracker) onTimer() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopTimer = nil
	t.retrying = false
	if len(t.queue) > 0 {
		t.startFlushLocked()
	}
}

// startFlushLocked flushes in the background unless that is already
// happening: the running flush takes what is queued when it finishes.
func (t *Tracker) startFlushLocked() {
	if t.flushing {
		return
	}
	t.flushing = true
	go t.backgroundFlush()
}

func (t *Tracker) backgroundFlush() {
	for {
		t.flush(context.Background(), true)
		t.mu.Lock()
		// Events tracked during the flush may have filled another batch.
		again := len(t.queue) >= t.cfg.BatchSize && !t.retrying
		t.flushing = again
		t.mu.Unlock()
		if !again {
			return
		}
	}
}

// newID returns a UUIDv7: unique, and sorting by creation time.
func newID() string {
	// NewV7 fails only when the system's random source does, which leaves
	// nothing sensible to do but stop.
	return uuid.Must(uuid.NewV7()).String()
}
