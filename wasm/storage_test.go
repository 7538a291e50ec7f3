//go:build js && wasm

package main

import (
	"encoding/json"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
	"github.com/tracklet/tracklet/wasm/tracker"
)

// memoryStorageJS is the Storage interface over a Map, for Node, which has
// no localStorage. quota (bytes) makes setItem throw as a full one does.
const memoryStorageJS = `(function (quota) {
	const m = new Map();
	const size = () => { let n = 0; for (const [k, v] of m) n += k.length + v.length; return n; };
	return {
		get length() { return m.size; },
		key(i) { return [...m.keys()][i] ?? null; },
		getItem(k) { return m.has(k) ? m.get(k) : null; },
		setItem(k, v) {
			v = String(v);
			const old = m.has(k) ? k.length + m.get(k).length : 0;
			if (size() - old + k.length + v.length > quota) throw new DOMException("quota", "QuotaExceededError");
			m.set(k, v);
		},
		removeItem(k) { m.delete(k); },
		dump() { return [...m.keys()].sort().join("\n"); },
	};
})`

// withStorage installs a localStorage for the test.
func withStorage(t *testing.T, quota int) js.Value {
	ls := jsEval(memoryStorageJS).Invoke(quota)
	js.Global().Set("localStorage", ls)
	t.Cleanup(func() { js.Global().Delete("localStorage") })
	return ls
}

func record(id string, queued time.Time) tracker.Record {
	return tracker.Record{SessionID: "s1", Event: event.Event{EventID: event.String(id), EventType: "E", SentAt: event.TimestampOf(queued)}, QueuedAt: queued}
}

func ids(rs []tracker.Record) string {
	var out []string
	for _, r := range rs {
		out = append(out, *r.Event.EventID)
	}
	return strings.Join(out, ",")
}

func TestStoreAppendsDeletesAndHandsOverOnlyWhenTheOwnerIsGone(t *testing.T) {
	ls := withStorage(t, 1<<20)
	now := time.Now()
	a := newLocalStore("tid", "tabA", 100, 1<<20)
	if got := a.Claim(); len(got) != 0 {
		t.Fatalf("empty storage gave %d records", len(got))
	}
	a.Add(record("e2", now.Add(-time.Second)))
	a.Add(record("e1", now.Add(-2*time.Second)))
	a.Add(record("e3", now))
	a.Delete([]string{"e3"})
	if n, b := a.Usage(); n != 2 || b <= 0 {
		t.Errorf("usage = %d events, %d bytes", n, b)
	}
	// The three events of one task went into one item, named by its
	// first event; the delivered one was taken out of it.
	if keys := ls.Call("dump").String(); keys != "tracklet:tid:b:tabA:e2\ntracklet:tid:t:tabA" {
		t.Errorf("keys:\n%s", keys)
	}
	if v := ls.Call("getItem", "tracklet:tid:b:tabA:e2").String(); strings.Contains(v, "e3") || !strings.Contains(v, "e1") {
		t.Errorf("item after deleting e3: %s", v)
	}

	// Another tab while A lives: nothing to take.
	b := newLocalStore("tid", "tabB", 100, 1<<20)
	if got := b.Claim(); len(got) != 0 {
		t.Errorf("tab B took %s from a live tab", ids(got))
	}
	// A leaves for good: B takes its events, oldest first, under its name.
	a.Release()
	c := newLocalStore("tid", "tabC", 100, 1<<20)
	if got := ids(c.Claim()); got != "e1,e2" {
		t.Errorf("claimed %q, want e1,e2", got)
	}
	if keys := ls.Call("dump").String(); strings.Contains(keys, "tabA") {
		t.Errorf("A's keys left behind:\n%s", keys)
	}
	// ...and no one else gets them again.
	if got := newLocalStore("tid", "tabD", 100, 1<<20).Claim(); len(got) != 0 {
		t.Errorf("claimed twice: %s", ids(got))
	}
	// A tracker of another site's trackingId never sees them.
	if got := newLocalStore("other", "tabE", 100, 1<<20).Claim(); len(got) != 0 {
		t.Errorf("another tracking id claimed %s", ids(got))
	}
}

func TestStoreTakesOverAnExpiredLease(t *testing.T) {
	ls := withStorage(t, 1<<20)
	a := newLocalStore("tid", "tabA", 100, 1<<20)
	a.Claim()
	a.Add(record("e1", time.Now()))
	a.Sync()
	// A crashed: its heartbeat stopped 3 minutes and a second ago.
	ls.Call("setItem", "tracklet:tid:t:tabA", js.ValueOf(float64(time.Now().Add(-leaseTimeout-time.Second).UnixMilli())))
	if got := ids(newLocalStore("tid", "tabB", 100, 1<<20).Claim()); got != "e1" {
		t.Errorf("claimed %q from a crashed tab", got)
	}
}

func TestStoreWritesOneItemPerTaskAndRewritesOnlyWhatChanges(t *testing.T) {
	ls := withStorage(t, 1<<20)
	now := time.Now()
	// A page of an earlier version saved one event per key.
	old, _ := json.Marshal(record("old1", now.Add(-time.Hour)))
	ls.Call("setItem", "tracklet:tid:e:gone:old1", string(old))

	a := newLocalStore("tid", "tabA", 100, 1<<20)
	if got := ids(a.Claim()); got != "old1" {
		t.Fatalf("claimed %q, want the earlier version's old1", got)
	}
	for _, id := range []string{"a1", "a2", "a3"} {
		a.Add(record(id, now))
	}
	a.Sync()
	a.Add(record("b1", now))
	a.Sync()
	a.Sync() // nothing added: nothing written
	want := "tracklet:tid:b:tabA:a1\ntracklet:tid:b:tabA:b1\ntracklet:tid:b:tabA:old1\ntracklet:tid:t:tabA"
	if keys := ls.Call("dump").String(); keys != want {
		t.Fatalf("keys:\n%s\nwant\n%s", keys, want)
	}
	_, before := a.Usage()
	a.Delete([]string{"a2", "b1", "old1", "unknown"})
	if keys := ls.Call("dump").String(); keys != "tracklet:tid:b:tabA:a1\ntracklet:tid:t:tabA" {
		t.Errorf("after delivery, keys:\n%s", keys)
	}
	var left []tracker.Record
	if err := json.Unmarshal([]byte(ls.Call("getItem", "tracklet:tid:b:tabA:a1").String()), &left); err != nil || ids(left) != "a1,a3" {
		t.Errorf("item a1 holds %q (%v), want a1,a3", ids(left), err)
	}
	if n, b := a.Usage(); n != 2 || b >= before || b != len("tracklet:tid:b:tabA:a1")+len(ls.Call("getItem", "tracklet:tid:b:tabA:a1").String()) {
		t.Errorf("usage = %d events, %d bytes (before %d)", n, b, before)
	}
	// The next page takes the rest from the rewritten item.
	a.Release()
	if got := ids(newLocalStore("tid", "tabB", 100, 1<<20).Claim()); got != "a1,a3" {
		t.Errorf("next page claimed %q, want a1,a3", got)
	}
}

func TestStoreBoundsAndFailuresNeverThrow(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		withStorage(t, 1<<20)
		s := newLocalStore("tid", "tab", 2, 1<<20)
		for _, id := range []string{"a", "b", "c"} {
			s.Add(record(id, time.Now()))
		}
		if n, _ := s.Usage(); n != 2 || s.Errors() != 1 {
			t.Errorf("saved %d, errors %d", n, s.Errors())
		}
	})
	t.Run("bytes", func(t *testing.T) {
		withStorage(t, 1<<20)
		s := newLocalStore("tid", "tab", 100, 500)
		for i := 0; i < 5; i++ {
			s.Add(record(strings.Repeat("x", 10)+string(rune('a'+i)), time.Now()))
		}
		if n, b := s.Usage(); b > 500 || n == 0 || n == 5 {
			t.Errorf("saved %d events in %d bytes, bound 500", n, b)
		}
	})
	t.Run("quota", func(t *testing.T) {
		withStorage(t, 300) // the host page filled the rest
		s := newLocalStore("tid", "tab", 100, 1<<20)
		for i := 0; i < 5; i++ {
			s.Add(record("id"+string(rune('a'+i)), time.Now()))
		}
		if s.Errors() == 0 {
			t.Error("quota errors not counted")
		}
		s.Delete([]string{"ida", "idb", "idc", "idd", "ide"})
	})
	t.Run("disabled", func(t *testing.T) {
		// Storage that throws on every access, as with cookies blocked.
		js.Global().Call("eval", `Object.defineProperty(globalThis, "localStorage", {configurable: true, get() { throw new DOMException("denied", "SecurityError"); }})`)
		t.Cleanup(func() { js.Global().Delete("localStorage") })
		s := newLocalStore("tid", "tab", 100, 1<<20)
		s.Add(record("a", time.Now()))
		s.Delete([]string{"a"})
		s.SaveSession("s", time.Now())
		if got := s.Claim(); len(got) != 0 {
			t.Error("claimed from disabled storage")
		}
		if id, _ := s.Session(); id != "" || s.OptedOut() {
			t.Error("read from disabled storage")
		}
	})
}

func TestTrackerWithStorageSurvivesAReload(t *testing.T) {
	withStorage(t, 1<<20)
	c := startNodeCollector(t)
	// The first page cannot reach the collector.
	first := create(t, map[string]any{"endpoint": "http://127.0.0.1:1", "flushInterval": 60000, "retryBase": 60000})
	for _, n := range []string{"A", "B", "C"} {
		trackJS(first, n)
	}
	flush(t, first)
	if s := statsOf(first); s.queued != 3 {
		t.Fatalf("first page: %+v", s)
	}
	if st := first.Call("stats").Get("stored").Int(); st != 3 {
		t.Errorf("stored = %d, errors %d; storage:\n%s", st, first.Call("stats").Get("storageErrors").Int(), js.Global().Get("localStorage").Call("dump").String())
	}
	session := first.Call("sessionId").String()
	// The page goes away for good (its pagehide gives up the lease).
	js.Global().Get("localStorage").Call("removeItem", "tracklet:tid-1:t:"+leaseHolder(t))

	second := create(t, map[string]any{"endpoint": c.url, "flushInterval": 60000})
	if s := statsOf(second); s.queued != 3 {
		t.Fatalf("the next page did not take the saved events: %+v", s)
	}
	if second.Call("sessionId").String() != session {
		t.Error("the next page started a new session")
	}
	if sent, _ := flush(t, second); sent != 3 {
		t.Errorf("sent %d", sent)
	}
	reqs := c.requests(t)
	if len(reqs) != 1 || strings.Join([]string{reqs[0].EventList[0].EventType, reqs[0].EventList[1].EventType, reqs[0].EventList[2].EventType}, "") != "ABC" {
		t.Errorf("requests %+v", reqs)
	}
	if st := second.Call("stats").Get("stored").Int(); st != 0 {
		t.Errorf("stored after delivery = %d", st)
	}
	// Opting out is remembered by the next page.
	second.Call("optOut")
	third := create(t, map[string]any{"endpoint": c.url})
	if third.Call("consentState").String() != "denied" {
		t.Error("opt-out forgotten")
	}
	third.Call("optIn")
	if create(t, map[string]any{"endpoint": c.url}).Call("consentState").String() != "granted" {
		t.Error("opt-in forgotten")
	}
}

// leaseHolder returns the one tab that holds a lease in localStorage.
func leaseHolder(t *testing.T) string {
	ls := js.Global().Get("localStorage")
	for _, k := range strings.Split(ls.Call("dump").String(), "\n") {
		if tab, ok := strings.CutPrefix(k, "tracklet:tid-1:t:"); ok {
			return tab
		}
	}
	t.Fatal("no lease")
	return ""
}

func TestStoreSavesTheSessionAsJSON(t *testing.T) {
	ls := withStorage(t, 1<<20)
	s := newLocalStore("tid", "tab", 100, 1<<20)
	last := time.UnixMilli(1714979289123)
	for _, id := range []string{"s1", `<a "b"> & \ é` + "\u2028"} {
		s.SaveSession(id, last)
		want, _ := json.Marshal(savedSession{ID: id, Last: last.UnixMilli()})
		if got := ls.Call("getItem", "tracklet:tid:session").String(); got != string(want) {
			t.Errorf("saved %s, want %s", got, want)
		}
		if gotID, gotLast := s.Session(); gotID != id || !gotLast.Equal(last) {
			t.Errorf("Session() = %q, %v; want %q, %v", gotID, gotLast, id, last)
		}
	}
}
