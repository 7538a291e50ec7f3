package tracker

import (
	"time"

	"github.com/tracklet/tracklet/event"
)

// Store keeps unsent events across page loads, crashes and closed tabs. It
// never fails its caller: storage that is full or disabled (private mode)
// only means the events live in memory, as without a Store.
type Store interface {
	// Add saves one new event. It must append, never rewrite what is
	// saved already: the established trackers lose seconds of main-thread
	// time rewriting whole queues.
	Add(Record)
	// Delete forgets events that were delivered or given up.
	Delete(eventIDs []string)
	// Claim returns the saved events no live tracker owns (left by an
	// earlier page or a closed tab), oldest first, and makes them this
	// tracker's, so that two tabs never both send them.
	Claim() []Record
	// Usage reports how many events and bytes the store holds.
	Usage() (events, bytes int)
	// Session returns the saved session and its last activity, if any;
	// SaveSession saves them.
	Session() (id string, last time.Time)
	SaveSession(id string, last time.Time)
}

// Record is one saved event.
type Record struct {
	SessionID string      `json:"s"`
	UserID    string      `json:"u,omitempty"`
	Event     event.Event `json:"e"`
	QueuedAt  time.Time   `json:"q"`
}

func (e entry) record() Record {
	return Record{SessionID: e.key.sessionID, UserID: e.key.userID, Event: e.ev, QueuedAt: e.queuedAt}
}

// noStore is the Store of a tracker without persistence.
type noStore struct{}

func (noStore) Add(Record)                    {}
func (noStore) Delete([]string)               {}
func (noStore) Claim() []Record               { return nil }
func (noStore) Usage() (int, int)             { return 0, 0 }
func (noStore) Session() (string, time.Time)  { return "", time.Time{} }
func (noStore) SaveSession(string, time.Time) {}
