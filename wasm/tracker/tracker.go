// Package tracker is the browser module's core: it builds and validates
// events, queues them in memory and delivers them in batches through a
// Transport. It knows nothing of JavaScript, so it is tested natively with a
// fake Transport and a fake Clock; package main in the parent directory binds
// it to the browser.
package tracker

import (
	"context"
	"errors"
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
)

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
}

// withDefaults fills in zero values and checks the rest, naming the field.
func (c Config) withDefaults() (Config, error) {
	if err := checkID("trackingId", c.TrackingID); err != nil {
		return c, err
	}
	if c.SessionID == "" {
		c.SessionID = newID()
	} else if err := checkID("sessionId", c.SessionID); err != nil {
		return c, err
	}
	if c.UserID != "" {
		if err := checkID("userId", c.UserID); err != nil {
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
	switch {
	case c.MaxQueue == 0:
		c.MaxQueue = DefaultMaxQueue
	case c.MaxQueue < 0:
		return c, &event.FieldError{Field: "maxQueue", Rule: "must be positive"}
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
	// Dropped events were given up: refused by the collector as invalid,
	// or turned away because the queue was full.
	Dropped int
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
	stopTimer func() bool // cancels the pending interval flush, if any
	flushing  bool        // a background flush is scheduled or running
	retrying  bool        // the last flush failed; wait for the timer
	stats     Stats
}

// batchKey is what every event of one request shares.
type batchKey struct{ sessionID, userID string }

type entry struct {
	key batchKey
	ev  event.Event
}

// New returns a Tracker sending through transport and timed by clock.
func New(cfg Config, transport Transport, clock Clock) (*Tracker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Tracker{
		cfg:       cfg,
		transport: transport,
		clock:     clock,
		key:       batchKey{sessionID: cfg.SessionID, userID: cfg.UserID},
	}, nil
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
	}
	if err := ev.Validate(); err != nil {
		return event.Event{}, err
	}
	return ev, nil
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
	if len(t.queue)+t.inFlight >= t.cfg.MaxQueue {
		t.stats.Dropped++
		return event.Event{}, ErrQueueFull
	}
	t.queue = append(t.queue, entry{key: t.key, ev: ev})
	t.armTimerLocked()
	if len(t.queue) >= t.cfg.BatchSize && !t.retrying {
		t.startFlushLocked()
	}
	return ev, nil
}

// Identify sets the user of the events tracked from now on. Events already
// queued keep the user they were tracked with.
func (t *Tracker) Identify(userID string) error {
	if err := checkID("userId", userID); err != nil {
		return err
	}
	t.mu.Lock()
	t.key.userID = userID
	t.mu.Unlock()
	return nil
}

// Reset forgets the user and starts a new session, as on signing out.
func (t *Tracker) Reset() {
	t.mu.Lock()
	t.key = batchKey{sessionID: newID()}
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
	s.Queued = len(t.queue) + t.inFlight
	return s
}

// Flush sends every queued event now, in requests of at most BatchSize
// events that each hold one session and one user, in the order tracked.
// After a failure that may pass, the unsent events stay queued, in order,
// for the next flush; a request the collector refuses for good is dropped.
func (t *Tracker) Flush(ctx context.Context) Result {
	t.sendMu.Lock()
	defer t.sendMu.Unlock()

	t.mu.Lock()
	pending := t.queue
	t.queue = nil
	t.inFlight = len(pending)
	t.mu.Unlock()

	var (
		res     Result
		requeue []entry
		failed  int
		dropped int
	)
	for _, b := range batches(pending, t.cfg.BatchSize) {
		if requeue != nil {
			// An earlier batch could not go; keep the order.
			requeue = append(requeue, b...)
			res.Failed += len(b)
			continue
		}
		err := t.transport.Send(ctx, t.request(b))
		switch {
		case err == nil:
			res.Sent += len(b)
		case IsRetryable(err):
			requeue = append(requeue, b...)
			res.Failed += len(b)
			failed += len(b)
		default:
			res.Failed += len(b)
			failed += len(b)
			dropped += len(b)
		}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if requeue != nil {
		t.queue = append(requeue, t.queue...)
	}
	t.inFlight = 0
	t.retrying = requeue != nil
	t.stats.Sent += res.Sent
	t.stats.Failed += failed
	t.stats.Dropped += dropped
	t.armTimerLocked()
	return res
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
	for start := 0; start < len(q); {
		end := start + 1
		for end < len(q) && end-start < size && q[end].key == q[start].key {
			end++
		}
		out = append(out, q[start:end:end])
		start = end
	}
	return out
}

// armTimerLocked schedules the interval flush when events wait and none is
// scheduled. An idle tracker has no timer running.
func (t *Tracker) armTimerLocked() {
	if t.stopTimer != nil || len(t.queue) == 0 {
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
		t.Flush(context.Background())
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

// checkID applies the PutEvents rule for ids to a value given on its own.
func checkID(field, s string) error {
	switch {
	case s == "":
		return &event.FieldError{Field: field, Rule: "missing or empty"}
	case utf8.RuneCountInString(s) > event.MaxIDLength:
		return &event.FieldError{Field: field, Rule: "longer than " + strconv.Itoa(event.MaxIDLength) + " characters"}
	}
	return nil
}

// newID returns a UUIDv7: unique, and sorting by creation time.
func newID() string {
	// NewV7 fails only when the system's random source does, which leaves
	// nothing sensible to do but stop.
	return uuid.Must(uuid.NewV7()).String()
}
