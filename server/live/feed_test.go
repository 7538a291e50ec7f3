package live

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server"
)

// memSource is a store of events in memory that counts its reads. (The
// SQLite implementation of Source is tested in package sqlite.)
type memSource struct {
	mu    sync.Mutex
	evs   []*server.StoredEvent
	reads int
}

func (m *memSource) add(n int, tid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < n; i++ {
		m.evs = append(m.evs, ev(int64(len(m.evs)+1), tid, "View", "", "s"))
	}
}

func (m *memSource) LastSeq(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	return int64(len(m.evs)), nil
}

func (m *memSource) EventsAfter(_ context.Context, after int64, limit int) ([]*server.StoredEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	end := min(int(after)+limit, len(m.evs))
	return append([]*server.StoredEvent(nil), m.evs[after:end]...), nil
}

func (m *memSource) readCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads
}

// startFeed runs a feed that polls only every hour, so that whatever
// arrives within a test's timeout was delivered because of Stored.
func startFeed(t *testing.T, src Source) *Feed {
	ctx, cancel := context.WithCancel(context.Background())
	f := NewFeed(src, NewHub(64, 0), time.Hour, nil)
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

func receive(t *testing.T, s *Subscription, n int) []int64 {
	t.Helper()
	var seqs []int64
	timeout := time.After(5 * time.Second)
	for len(seqs) < n {
		select {
		case e, ok := <-s.Events():
			if !ok {
				t.Fatalf("subscription closed after %v", seqs)
			}
			seqs = append(seqs, e.Seq)
		case <-timeout:
			t.Fatalf("got %v within 5 s, want %d events", seqs, n)
		}
	}
	return seqs
}

func TestFeedPublishesWhatIsStoredAfterSubscribe(t *testing.T) {
	src := &memSource{}
	src.add(3, "tk") // stored before anyone watched: not the feed's to send
	f := startFeed(t, src)
	s, err := f.Subscribe(context.Background(), server.StreamFilter{TrackingID: "tk"})
	if err != nil {
		t.Fatal(err)
	}
	src.add(2, "tk")
	src.add(1, "other")
	src.add(1, "tk")
	f.Stored()
	got := receive(t, s, 3)
	if want := []int64{4, 5, 7}; !equal(got, want) {
		t.Errorf("got seqs %v, want %v", got, want)
	}
	// Nothing else before the next event stored: the feed sends in seq
	// order, so anything unexpected would come first.
	src.add(1, "tk")
	f.Stored()
	if got := receive(t, s, 1); !equal(got, []int64{8}) {
		t.Errorf("after them: seqs %v, want only the next event, 8", got)
	}
}

func TestFeedReadsNothingWithoutSubscribers(t *testing.T) {
	src := &memSource{}
	f := startFeed(t, src)
	for i := 0; i < 100; i++ {
		src.add(1, "tk")
		f.Stored()
	}
	f.catchUp(context.Background()) // as a poll would
	if n := src.readCount(); n != 0 {
		t.Errorf("the feed read the store %d times with nobody subscribed", n)
	}

	// Once a subscriber leaves, the feed stops reading again.
	s, _ := f.Subscribe(context.Background(), server.StreamFilter{})
	s.Close()
	f.catchUp(context.Background())
	before := src.readCount()
	src.add(5, "tk")
	f.Stored()
	f.catchUp(context.Background())
	if n := src.readCount(); n != before {
		t.Errorf("the feed read the store %d times after its subscriber left", n-before)
	}
}

// A feed far behind skips ahead rather than read the whole backlog, and
// says so.
func TestFeedSkipsAheadBeyondMaxLag(t *testing.T) {
	src := &memSource{}
	f := NewFeed(src, NewHub(2*pageSize, 0), time.Hour, nil)
	s, _ := f.Subscribe(context.Background(), server.StreamFilter{})
	src.add(MaxLag+5*pageSize, "tk")
	f.catchUp(context.Background())

	got := drain(s)
	if len(got) != pageSize || got[0] != 1 {
		t.Fatalf("got %d events from %v, want the first page", len(got), got[:1])
	}
	if n := s.TakeMissed(); n != MaxLag+4*pageSize {
		t.Errorf("missed %d, want %d", n, MaxLag+4*pageSize)
	}
	src.add(1, "tk")
	f.catchUp(context.Background())
	if got := drain(s); len(got) != 1 || got[0] != MaxLag+5*pageSize+1 {
		t.Errorf("after skipping, got %v, want only the newest event", got)
	}
}

func TestFeedRunEndClosesStreams(t *testing.T) {
	src := &memSource{}
	ctx, cancel := context.WithCancel(context.Background())
	f := NewFeed(src, NewHub(1, 0), time.Hour, nil)
	s, _ := f.Subscribe(ctx, server.StreamFilter{})
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	cancel()
	<-done
	if _, ok := <-s.Events(); ok {
		t.Error("stream still open after Run returned")
	}
	var nilFeed *Feed
	nilFeed.Stored() // a handler wired without a dashboard
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// One catch-up reads at most maxPages pages and says whether more wait;
// Run comes back for them after MinGap, and nothing is lost or repeated.
func TestFeedReadsAtMostMaxPagesAtATime(t *testing.T) {
	src := &memSource{}
	f := NewFeed(src, NewHub(10*pageSize, 0), time.Hour, nil)
	s, _ := f.Subscribe(context.Background(), server.StreamFilter{})
	src.add(7*pageSize, "tk")
	if more := f.catchUp(context.Background()); !more {
		t.Error("catch-up of 7 pages did not say more were waiting")
	}
	if got := drain(s); len(got) != maxPages*pageSize {
		t.Fatalf("first catch-up published %d events, want %d", len(got), maxPages*pageSize)
	}
	if more := f.catchUp(context.Background()); more {
		t.Error("second catch-up said more were waiting")
	}
	got := drain(s)
	if len(got) != 2*pageSize || got[0] != maxPages*pageSize+1 || got[len(got)-1] != 7*pageSize {
		t.Fatalf("second catch-up published %d events from %d", len(got), got[0])
	}

	// Through Run, without any wake-up after the first.
	stop := startFeedWith(t, f)
	defer stop()
	src.add(7*pageSize, "tk")
	f.Stored()
	if n := len(receive(t, s, 7*pageSize)); n != 7*pageSize {
		t.Errorf("Run published %d of %d", n, 7*pageSize)
	}
}

func startFeedWith(t *testing.T, f *Feed) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}
