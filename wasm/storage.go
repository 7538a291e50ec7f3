//go:build js && wasm

package main

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"github.com/tracklet/tracklet/wasm/tracker"
)

// localStore keeps unsent events in localStorage, one key per event, so
// that saving an event appends one small item and deleting it removes one:
// the queue is never rewritten as a whole.
//
// Keys, all under "tracklet:<trackingId>:":
//
//	e:<tab>:<eventId>  one saved event (a tracker.Record in JSON)
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

	mu     sync.Mutex
	sizes  map[string]int // eventId → bytes saved
	bytes  int
	errors int
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
		sizes: make(map[string]int),
	}
	// Reading window.localStorage itself throws where storage is blocked,
	// and syscall/js turns an exception in a property read into a crash,
	// not a panic: read it in a JS try block.
	s.ls = js.Global().Get("Function").New(`try { return globalThis.localStorage } catch (e) { return null }`).Invoke()
	if s.ls.Type() != js.TypeObject {
		s.ls = js.Undefined()
	}
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

func (s *localStore) eventKey(tab, id string) string { return s.prefix + "e:" + tab + ":" + id }

// Add saves one event unless that would break the store's bounds.
func (s *localStore) Add(r tracker.Record) {
	if !s.usable() || r.Event.EventID == nil {
		return
	}
	b, err := tracker.MarshalRecord(r)
	if err != nil {
		return
	}
	id := *r.Event.EventID
	key := s.eventKey(s.tab, id)
	size := len(key) + len(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sizes) >= s.maxEvents || s.bytes+size > s.maxBytes {
		s.errors++
		return
	}
	if s.try(func() { s.ls.Call("setItem", key, string(b)) }) {
		s.sizes[id] = size
		s.bytes += size
	}
}

// Delete removes saved events.
func (s *localStore) Delete(ids []string) {
	if !s.usable() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		size, ok := s.sizes[id]
		if !ok {
			continue
		}
		if s.try(func() { s.ls.Call("removeItem", s.eventKey(s.tab, id)) }) {
			delete(s.sizes, id)
			s.bytes -= size
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
		rest, ok := strings.CutPrefix(k, s.prefix+"e:")
		if !ok {
			continue
		}
		tab, id, ok := strings.Cut(rest, ":")
		if !ok || alive[tab] && tab != s.tab {
			continue
		}
		var raw string
		if !s.try(func() { raw = s.ls.Call("getItem", k).String() }) {
			continue
		}
		var r tracker.Record
		if json.Unmarshal([]byte(raw), &r) != nil || r.Event.EventID == nil || *r.Event.EventID != id {
			s.try(func() { s.ls.Call("removeItem", k) }) // unreadable: nothing to send
			continue
		}
		if tab != s.tab {
			// Move it under this tab's name, so no other tab claims it too.
			nk := s.eventKey(s.tab, id)
			if !s.try(func() { s.ls.Call("setItem", nk, raw); s.ls.Call("removeItem", k) }) {
				continue
			}
		}
		size := len(s.eventKey(s.tab, id)) + len(raw)
		s.sizes[id] = size
		s.bytes += size
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].QueuedAt.Before(out[j].QueuedAt) })
	return out
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
	return len(s.sizes), s.bytes
}

// Errors counts the storage operations that failed or were refused.
func (s *localStore) Errors() int {
	s.mu.Lock()
	defer s.mu.Unlock()
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
	b, _ := json.Marshal(savedSession{ID: id, Last: last.UnixMilli()})
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
