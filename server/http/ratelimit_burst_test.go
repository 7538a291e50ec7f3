package http_test

import (
	"testing"
	"time"

	trackhttp "github.com/tracklet/tracklet/server/http"
)

// With no burst configured, a tracker may send twice its per-second rate at
// once: a page closing sends its whole queue in parallel requests. The
// clock stands still, so no token comes back while the burst is sent however
// slow the machine is (at 100 events/s, a real clock refills one request's
// worth every 100ms, and a busy CI machine let the 21st request through).
func TestTrackerBurstDefaultsToTwiceTheRate(t *testing.T) {
	frozen := time.Now()
	e := newEnv(t, func(c *trackhttp.Config) {
		c.RateLimits = trackhttp.RateLimits{PerTracker: 100}
		c.Now = func() time.Time { return frozen }
	})
	tid := e.tracker()
	full := body(tid, repeatEvents(okEvent, 10)...)
	for i := 0; i < 20; i++ { // 200 events: exactly the burst
		if r := e.post(full, nil); r.status != 200 {
			t.Fatalf("request %d (events %d-%d of a 200-event burst): %d %q", i, i*10, i*10+9, r.status, r.message)
		}
	}
	r := e.post(full, nil)
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("past the burst: %d, Retry-After %q; want 429 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
}
