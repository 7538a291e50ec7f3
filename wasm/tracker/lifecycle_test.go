package tracker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tracklet/tracklet/event"
)

func TestSessionRenewsAfterInactivityAndIsRemembered(t *testing.T) {
	st := &fakeStore{}
	clk := newFakeClock()
	tk := newTracker(t, Config{Store: st, SessionTimeout: 30 * time.Minute}, newFakeTransport(), clk)
	mustTrack(t, tk, "A")
	first := tk.SessionID()
	if st.sessionID != first {
		t.Errorf("session not saved: %q", st.sessionID)
	}
	clk.Advance(30 * time.Minute) // exactly the timeout: same session
	mustTrack(t, tk, "B")
	if tk.SessionID() != first {
		t.Error("session renewed at exactly the timeout")
	}
	clk.Advance(30*time.Minute + time.Millisecond)
	mustTrack(t, tk, "C")
	second := tk.SessionID()
	if second == first || st.sessionID != second {
		t.Errorf("session not renewed after the timeout: %q → %q (saved %q)", first, second, st.sessionID)
	}
	// Saving is throttled: a burst costs one write.
	saves := st.sessionSaves
	for i := 0; i < 50; i++ {
		mustTrack(t, tk, "Burst")
	}
	if st.sessionSaves != saves {
		t.Errorf("%d session writes for a burst of 50 events", st.sessionSaves-saves)
	}

	// The next page of the site continues the session while it is fresh...
	clk.Advance(10 * time.Minute)
	next := newTracker(t, Config{Store: st}, newFakeTransport(), clk)
	if next.SessionID() != second {
		t.Errorf("next page started session %q, want %q", next.SessionID(), second)
	}
	// ...and starts a new one when it is not.
	clk.Advance(31 * time.Minute)
	later := newTracker(t, Config{Store: st}, newFakeTransport(), clk)
	if later.SessionID() == second {
		t.Error("a page after 31 idle minutes kept the old session")
	}
}

func TestConsentPendingThenGranted(t *testing.T) {
	st := &fakeStore{}
	tr := newFakeTransport()
	clk := newFakeClock()
	tk := newTracker(t, Config{Store: st, Consent: ConsentPending, BatchSize: 2}, tr, clk)
	mustTrack(t, tk, "A")
	mustTrack(t, tk, "B") // a full batch, but no consent yet
	tr.expectNoSend(t, tk)
	clk.Advance(time.Hour)
	tr.expectNoSend(t, tk)
	if res := tk.Flush(context.Background()); res != (Result{}) {
		t.Errorf("flush without consent = %+v", res)
	}
	if len(st.saved) != 0 {
		t.Error("events saved to storage before consent")
	}
	tk.SetConsent(ConsentGranted)
	req := tr.waitSend(t)
	settle(t, tk)
	if got := strings.Join(eventTypes(req), ","); got != "A,B" {
		t.Errorf("sent %s", got)
	}
	if len(st.saved) != 2 {
		t.Errorf("%d events saved on consent, want 2", len(st.saved))
	}
}

func TestConsentDeniedDiscards(t *testing.T) {
	var heard notices
	st := &fakeStore{}
	tr := newFakeTransport()
	tk := newTracker(t, Config{Store: st, Consent: ConsentPending, Notify: heard.add}, tr, newFakeClock())
	mustTrack(t, tk, "A")
	tk.SetConsent(ConsentDenied)
	if _, err := tk.Track("B", nil, Options{}); !errors.Is(err, ErrNoConsent) {
		t.Errorf("track after denial: %v", err)
	}
	if s := tk.Stats(); s.Queued != 0 || s.Dropped != 1 {
		t.Errorf("stats = %+v", s)
	}
	if heard.kinds() != "dropped:1" || len(st.deleted) != 1 {
		t.Errorf("notices %s, deleted %v", heard.kinds(), st.deleted)
	}
	tk.Flush(context.Background())
	tr.expectNoSend(t, tk)
	// Granting later (opting in) tracks again.
	tk.SetConsent(ConsentGranted)
	mustTrack(t, tk, "C")
	if res := tk.Flush(context.Background()); res.Sent != 1 {
		t.Errorf("after opt-in: %+v", res)
	}
}

func TestUnloadHandsOverWithinBudgetAndSettles(t *testing.T) {
	var heard notices
	st := &fakeStore{}
	tk := newTracker(t, Config{Store: st, BatchSize: 2, FlushInterval: time.Hour, Notify: heard.add}, &funcTransport{fn: func(event.Request) error { return nil }}, newFakeClock())
	tk.retrying = true // keep the size flush out of the way
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		mustTrack(t, tk, n)
	}
	var dones []func(error)
	var got []string
	handed := tk.Unload(func(r event.Request, done func(error)) bool {
		if len(dones) == 2 { // the budget allows two requests
			return false
		}
		got = append(got, strings.Join(eventTypes(r), ""))
		dones = append(dones, done)
		return true
	})
	if handed != 4 || strings.Join(got, "|") != "ab|cd" {
		t.Errorf("handed %d: %v", handed, got)
	}
	if s := tk.Stats(); s.Queued != 5 {
		t.Errorf("queued = %d while requests are out, want 5", s.Queued)
	}
	// The page lived to hear: one accepted, one failed for now.
	dones[0](nil)
	dones[1](NetworkError("offline"))
	if s := tk.Stats(); s.Sent != 2 || s.Queued != 3 || s.Retries != 1 {
		t.Errorf("stats = %+v", s)
	}
	if got := strings.Join(st.deleted, ","); strings.Count(got, ",") != 1 {
		t.Errorf("deleted %q, want the two sent events", got)
	}
	// What failed goes again, in order, with what was left.
	tk.retrying = false
	tr := &funcTransport{fn: func(event.Request) error { return nil }}
	tk.transport = tr
	tk.Flush(context.Background())
	var order []string
	for _, r := range tr.reqs {
		order = append(order, eventTypes(r)...)
	}
	if strings.Join(order, "") != "cde" {
		t.Errorf("after unload the flush sent %v", order)
	}
	if k := heard.kinds(); k != "sent:2,error:2,sent:2,sent:1" {
		t.Errorf("notices %s", k)
	}
}
