//go:build js && wasm

package main

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/wasm/tracker"
)

// localStore keeps unsent events in localStorage. Saving appends: the
// events tracked in one JavaScript task (a batch the loader hands over)
// go into one new item, written when the task's calls are done (Sync),
// because each setItem costs the page ~0.1 ms whatever its size; deleting
// delivered events removes an item once all of its events are gone and
// rewrites only that item otherwise. The queue is never rewritten as a
// whole.
//
// Keys, all under "tracklet:<trackingId>:":
//
//	b:<tab>:<eventId>  saved events (a JSON array of tracker.Records),
//	                   named by the first
//	e:<tab>:<eventId>  one saved event (a tracker.Record), as pages of
//	                   earlier versions saved them; still claimed
//	t:<tab>            the lease of a live tab: its last heartbeat, ms
//	session            {"id": sessionId, "last": ms of the last activity}
//	optout             "1" when the visitor opted out
//
// Each page (tab) owns the events it saved. A page claims another tab's
// events only when that tab's lease has expired or was given up on
// pagehide, so two open tabs never both send one event.
//
// Every access may throw (storage disabled, private mode, quota): a
// failure is counted and the event lives in memory only. Nothing is thrown
// into the page.
type localStore struct {
	ls        js.Value // window.localStorage; undefined when unusable
	prefix    string
	tab       string
	maxEvents int
	maxBytes  int
	lease     time.Duration

	mu      sync.Mutex
	items   map[string]*item // saved events by eventId
	bytes   int              // of the saved items, keys included
	pending []saved          // added, to be written by Sync
	errors  int
}

// item is one key holding saved events.
type item struct {
	key    string
	events []saved
	live   int // events not yet deleted
	size   int // bytes in storage, key included
}

// saved is one event as stored.
type saved struct {
	id   string
	json []byte
	gone bool // deleted; its item awaits a rewrite
}

// Defaults for the store's bounds: localStorage holds about 5 MB per site,
// shared with the host page, so the tracker takes a small part of it.
const (
	defaultMaxStoreBytes = 512 << 10
	// leaseTimeout must outlast the heartbeat of a hidden tab, whose
	// timers browsers slow to once a minute.
	leaseTimeout = 3 * time.Minute
	heartbeat    = 30 * time.Second
)

func newLocalStore(trackingID, tab string, maxEvents, maxBytes int) *localStore {
	s := &localStore{
		prefix: "tracklet:" + trackingID + ":", tab: tab,
		maxEvents: maxEvents, maxBytes: maxBytes, lease: leaseTimeout,
		items: make(map[string]*item),
	}
	s.ls = localStorage()
	return s
}

// try runs f, turning a JS exception (a Go panic in syscall/js) into false.
func (s *localStore) try(f func()) (ok bool) {
	defer func() {
		if recover() != nil {
			s.errors++
			ok = false
		}
	}()
	f()
	return true
}

func (s *localStore) usable() bool { return s.ls.Type() == js.TypeObject }

func (s *localStore) itemKey(tab, id string) string { return s.prefix + "b:" + tab + ":" + id }

// Add saves one event, with the others of this task, at the next Sync;
// an event that would break the store's bounds is not saved.
func (s *localStore) Add(r tracker.Record) {
	if !s.usable() || r.Event.EventID == nil {
		return
	}
	b, err := tracker.MarshalRecord(r)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	size := len(b) + 1 // and a comma or bracket
	if len(s.pending) == 0 {
		size += len(s.itemKey(s.tab, *r.Event.EventID)) + 1
	}
	if len(s.items)+len(s.pending) >= s.maxEvents || s.bytes+s.pendingBytes()+size > s.maxBytes {
		s.errors++
		return
	}
	s.pending = append(s.pending, saved{id: *r.Event.EventID, json: b})
}

func (s *localStore) pendingBytes() int {
	if len(s.pending) == 0 {
		return 0
	}
	n := len(s.itemKey(s.tab, s.pending[0].id)) + 1
	for _, e := range s.pending {
		n += len(e.json) + 1
	}
	return n
}

// Sync writes the events added since the last Sync as one item. The
// module calls it when it has taken a batch of calls; every other method
// syncs first.
func (s *localStore) Sync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncLocked()
}

func (s *localStore) syncLocked() {
	events := s.pending
	s.pending = nil
	if len(events) == 0 {
		return
	}
	if s.write(events) {
		return
	}
	// Too big for what the host page left: save what fits, one by one,
	// counting a failure per event, as write does.
	s.errors--
	for _, e := range events {
		s.write([]saved{e})
	}
}

// write saves events as a new item.
func (s *localStore) write(events []saved) bool {
	it := &item{key: s.itemKey(s.tab, events[0].id), events: events, live: len(events)}
	v := encodeItem(events)
	if !s.try(func() { s.ls.Call("setItem", it.key, v) }) {
		return false
	}
	it.size = len(it.key) + len(v)
	s.bytes += it.size
	for _, e := range events {
		s.items[e.id] = it
	}
	return true
}

// encodeItem is the JSON array of the events not deleted.
func encodeItem(events []saved) string {
	n := 2
	for _, e := range events {
		n += len(e.json) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for _, e := range events {
		if e.gone {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, e.json...)
	}
	return string(append(b, ']'))
}

// Delete removes saved events: an item whose events are all gone is
// removed, one with events left is rewritten with those.
func (s *localStore) Delete(ids []string) {
	if !s.usable() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncLocked()
	var touched []*item
	for _, id := range ids {
		it, ok := s.items[id]
		if !ok {
			continue
		}
		delete(s.items, id)
		for i := range it.events {
			if it.events[i].id == id && !it.events[i].gone {
				it.events[i].gone = true
				it.live--
				break
			}
		}
		if !slices.Contains(touched, it) {
			touched = append(touched, it)
		}
	}
	for _, it := range touched {
		if it.live == 0 {
			if s.try(func() { s.ls.Call("removeItem", it.key) }) {
				s.bytes -= it.size
			}
			continue
		}
		v := encodeItem(it.events)
		if s.try(func() { s.ls.Call("setItem", it.key, v) }) {
			s.bytes += len(it.key) + len(v) - it.size
			it.size = len(it.key) + len(v)
			it.events = slices.DeleteFunc(it.events, func(e saved) bool { return e.gone })
		}
	}
}

// Claim takes over the events of tabs that are gone and returns them,
// oldest first. It also renews this tab's lease.
func (s *localStore) Claim() []tracker.Record {
	if !s.usable() {
		return nil
	}
	s.Heartbeat()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncLocked()
	now := time.Now()
	alive := map[string]bool{s.tab: true}
	var keys []string
	s.try(func() {
		n := s.ls.Get("length").Int()
		for i := 0; i < n; i++ {
			k := s.ls.Call("key", i)
			if k.Type() != js.TypeString || !strings.HasPrefix(k.String(), s.prefix) {
				continue
			}
			keys = append(keys, k.String())
		}
	})
	for _, k := range keys {
		tab, ok := strings.CutPrefix(k, s.prefix+"t:")
		if !ok {
			continue
		}
		var ms int64
		s.try(func() { ms, _ = strconv.ParseInt(s.ls.Call("getItem", k).String(), 10, 64) })
		if now.Sub(time.UnixMilli(ms)) <= s.lease {
			alive[tab] = true
		} else {
			s.try(func() { s.ls.Call("removeItem", k) })
		}
	}
	var out []tracker.Record
	for _, k := range keys {
		rest, one := strings.CutPrefix(k, s.prefix+"e:")
		if !one {
			if rest, ok := strings.CutPrefix(k, s.prefix+"b:"); ok {
				out = s.claimItem(out, k, rest, alive, false)
			}
			continue
		}
		out = s.claimItem(out, k, rest, alive, true)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].QueuedAt.Before(out[j].QueuedAt) })
	return out
}

// claimItem takes the events of key k ("<tab>:<eventId>" after its
// prefix) when its tab is gone: one record (one) or an array of them. It
// saves them again as an item of this tab and appends them to out.
func (s *localStore) claimItem(out []tracker.Record, k, rest string, alive map[string]bool, one bool) []tracker.Record {
	tab, id, ok := strings.Cut(rest, ":")
	if !ok || alive[tab] && tab != s.tab {
		return out
	}
	var raw string
	if !s.try(func() { raw = s.ls.Call("getItem", k).String() }) {
		return out
	}
	var raws []json.RawMessage
	if one {
		raws = []json.RawMessage{json.RawMessage(raw)}
	} else if json.Unmarshal([]byte(raw), &raws) != nil || len(raws) == 0 {
		raws = nil
	}
	var recs []tracker.Record
	var events []saved
	for i, rm := range raws {
		var r tracker.Record
		if json.Unmarshal(rm, &r) != nil || r.Event.EventID == nil || (i == 0 && *r.Event.EventID != id) {
			recs = nil // unreadable: nothing to send
			break
		}
		recs = append(recs, r)
		events = append(events, saved{id: *r.Event.EventID, json: rm})
	}
	if len(recs) == 0 {
		s.try(func() { s.ls.Call("removeItem", k) })
		return out
	}
	if tab == s.tab && !one {
		it := &item{key: k, events: events, live: len(events), size: len(k) + len(raw)}
		s.bytes += it.size
		for _, e := range events {
			s.items[e.id] = it
		}
		return append(out, recs...)
	}
	// Save them under this tab's name, so no other tab claims them too.
	if !s.write(events) {
		return out
	}
	s.try(func() { s.ls.Call("removeItem", k) })
	return append(out, recs...)
}

// Heartbeat renews this tab's lease.
func (s *localStore) Heartbeat() {
	if s.usable() {
		s.try(func() {
			s.ls.Call("setItem", s.prefix+"t:"+s.tab, strconv.FormatInt(time.Now().UnixMilli(), 10))
		})
	}
}

// Release gives up the lease, for a page that is going away for good: the
// next page of the site may claim what is left at once.
func (s *localStore) Release() {
	if s.usable() {
		s.try(func() { s.ls.Call("removeItem", s.prefix+"t:"+s.tab) })
	}
}

// Usage reports the events and bytes this tab has saved.
func (s *localStore) Usage() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncLocked()
	return len(s.items), s.bytes
}

// Errors counts the storage operations that failed or were refused.
func (s *localStore) Errors() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncLocked()
	return s.errors
}

type savedSession struct {
	ID   string `json:"id"`
	Last int64  `json:"last"`
}

func (s *localStore) Session() (string, time.Time) {
	var ss savedSession
	if s.usable() {
		s.try(func() {
			v := s.ls.Call("getItem", s.prefix+"session")
			if v.Type() == js.TypeString {
				json.Unmarshal([]byte(v.String()), &ss)
			}
		})
	}
	if ss.ID == "" {
		return "", time.Time{}
	}
	return ss.ID, time.UnixMilli(ss.Last)
}

func (s *localStore) SaveSession(id string, last time.Time) {
	if !s.usable() {
		return
	}
	// json.Marshal(savedSession{...}) without reflection, whose first use
	// cost a burst's first track call ~5 ms.
	b := append(event.AppendJSONString([]byte(`{"id":`), id), `,"last":`...)
	b = append(strconv.AppendInt(b, last.UnixMilli(), 10), '}')
	s.try(func() { s.ls.Call("setItem", s.prefix+"session", string(b)) })
}

// OptedOut reports whether the visitor opted out on an earlier visit.
func (s *localStore) OptedOut() bool {
	out := false
	if s.usable() {
		s.try(func() { out = s.ls.Call("getItem", s.prefix+"optout").Type() == js.TypeString })
	}
	return out
}

// SetOptOut remembers, or forgets, the visitor's opt-out.
func (s *localStore) SetOptOut(out bool) {
	if !s.usable() {
		return
	}
	s.try(func() {
		if out {
			s.ls.Call("setItem", s.prefix+"optout", "1")
		} else {
			s.ls.Call("removeItem", s.prefix+"optout")
		}
	})
}
