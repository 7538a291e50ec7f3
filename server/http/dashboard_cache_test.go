package http

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server"
)

// fakeClock is advanced by hand, and by the computations under test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// waitLocked waits until n goroutines wait for a sync.Mutex inside fn, as
// their stacks show: the signal that they queued up, where a sleep would
// only hope so.
func waitLocked(t *testing.T, fn string, n int) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		got := 0
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "sync.(*Mutex).Lock") && strings.Contains(g, fn) {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines wait for a mutex in %s, want %d", got, fn, n)
		}
	}
}

func TestStatsCacheReusesInProportionToCost(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	c := newStatsCache(clock.now)
	var computed atomic.Int32
	release := make(chan struct{})
	// A read that "takes" 50 ms on the cache's clock, and does not finish
	// until released, so that concurrent requests overlap it.
	slow := func() (*server.TrafficStats, error) {
		n := computed.Add(1)
		<-release
		clock.advance(50 * time.Millisecond)
		return &server.TrafficStats{Events: int64(n)}, nil
	}

	// Concurrent requests for one tracker share one read.
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st, err := c.get("tk", slow); err != nil || st.Events != 1 {
				t.Errorf("got %+v, %v", st, err)
			}
		}()
	}
	// One request reads; the 9 others queue up behind it (on the entry's
	// mutex, or for a moment on the cache's, then on the entry's).
	for deadline := time.Now().Add(10 * time.Second); computed.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no read started in 10s")
		}
	}
	waitLocked(t, "(*statsCache).get", 9)
	if n := computed.Load(); n != 1 {
		t.Fatalf("%d reads started, want 1 with the 9 other requests waiting for it", n)
	}
	close(release)
	wg.Wait()
	if n := computed.Load(); n != 1 {
		t.Fatalf("read %d times for 10 concurrent requests", n)
	}

	// Reused for four times the 50 ms it took, and not a moment longer.
	clock.advance(statsReuse*50*time.Millisecond - time.Millisecond)
	if st, _ := c.get("tk", slow); st.Events != 1 {
		t.Errorf("read again before going stale: %+v", st)
	}
	clock.advance(time.Millisecond)
	if st, _ := c.get("tk", slow); st.Events != 2 {
		t.Errorf("not read again once stale: %+v", st)
	}
	// Trackers are cached apart.
	if st, _ := c.get("other", slow); st.Events != 3 {
		t.Errorf("another tracker got %+v", st)
	}
	// Errors are not cached.
	fail := func() (*server.TrafficStats, error) { return nil, errors.New("disk on fire") }
	if _, err := c.get("new", fail); err == nil {
		t.Error("error swallowed")
	}
	if st, err := c.get("new", slow); err != nil || st.Events != 4 {
		t.Errorf("an error was cached: %+v, %v", st, err)
	}
}
