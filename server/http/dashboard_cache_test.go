package http

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracklet/tracklet/server"
)

func TestStatsCacheReusesInProportionToCost(t *testing.T) {
	c := &statsCache{entries: make(map[string]*statsEntry)}
	var computed atomic.Int32
	slow := func() (*server.TrafficStats, error) {
		computed.Add(1)
		time.Sleep(50 * time.Millisecond)
		return &server.TrafficStats{Events: int64(computed.Load())}, nil
	}

	// Concurrent requests for one tracker share one computation.
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
	wg.Wait()
	if n := computed.Load(); n != 1 {
		t.Fatalf("computed %d times for 10 concurrent requests", n)
	}
	// Reused for about four times the 50 ms it took...
	if st, _ := c.get("tk", slow); st.Events != 1 {
		t.Errorf("recomputed at once: %+v", st)
	}
	// ...and not for longer.
	time.Sleep(statsReuse*50*time.Millisecond + 50*time.Millisecond)
	if st, _ := c.get("tk", slow); st.Events != 2 {
		t.Errorf("not recomputed after it went stale: %+v", st)
	}
	// Trackers are cached apart; errors are not cached.
	if st, _ := c.get("other", slow); st.Events != 3 {
		t.Errorf("another tracker got %+v", st)
	}
	fail := func() (*server.TrafficStats, error) { return nil, errors.New("disk on fire") }
	c2 := &statsCache{entries: make(map[string]*statsEntry)}
	if _, err := c2.get("tk", fail); err == nil {
		t.Error("error swallowed")
	}
	if st, err := c2.get("tk", slow); err != nil || st == nil {
		t.Errorf("an error was cached: %+v, %v", st, err)
	}
}
