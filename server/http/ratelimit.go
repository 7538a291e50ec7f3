package http

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimits bound how fast one client IP and one tracker may send. A zero
// rate switches that limit off.
type RateLimits struct {
	// PerIP is requests per second from one client IP, with bursts of
	// IPBurst (default: twice the rate, at least 10).
	PerIP   rate.Limit
	IPBurst int
	// PerTracker is events per second for one trackingId, with bursts of
	// TrackerBurst (default: twice the rate, at least 10, the most one
	// request carries). Each tracker has its own budget, so one noisy site
	// is refused while the others go on.
	PerTracker   rate.Limit
	TrackerBurst int
	// TrustForwardedFor takes the client IP from X-Forwarded-For, for a
	// collector behind a reverse proxy. Off, a client could choose its IP.
	TrustForwardedFor bool
}

func burstFor(l rate.Limit, burst int) int {
	if burst > 0 {
		return burst
	}
	return max(10, int(math.Ceil(2*float64(l))))
}

// limiterSet holds one token bucket per key, forgetting the idle ones so
// that a scan from many IPs cannot grow it without bound.
type limiterSet struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// maxBuckets bounds a limiterSet; beyond it, the idle buckets are dropped
// at once instead of once a minute.
const maxBuckets = 100_000

func newLimiterSet(l rate.Limit, burst int) *limiterSet {
	if l <= 0 {
		return nil
	}
	return &limiterSet{limit: l, burst: burstFor(l, burst), buckets: make(map[string]*bucket)}
}

// allow takes n tokens from key's bucket, or none and says how long to wait.
func (s *limiterSet) allow(key string, n int, now time.Time) (bool, time.Duration) {
	if s == nil {
		return true, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.lastSweep) > time.Minute || len(s.buckets) >= maxBuckets {
		s.sweep(now)
	}
	b, ok := s.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(s.limit, s.burst)}
		s.buckets[key] = b
	}
	b.last = now
	r := b.lim.ReserveN(now, n)
	if !r.OK() { // more than a whole burst: never, at this rate
		return false, time.Duration(float64(n) / float64(s.limit) * float64(time.Second))
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep drops the buckets that have been idle long enough to be full again:
// forgetting them changes nothing.
func (s *limiterSet) sweep(now time.Time) {
	s.lastSweep = now
	refill := time.Duration(float64(s.burst) / float64(s.limit) * float64(time.Second))
	for k, b := range s.buckets {
		if now.Sub(b.last) > refill {
			delete(s.buckets, k)
		}
	}
}

// retryAfter writes the Retry-After header: whole seconds, at least one.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
}

// clientIP is the address rate limits count by.
func (h *Handler) clientIP(r *http.Request) string {
	if h.cfg.RateLimits.TrustForwardedFor {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip := strings.TrimSpace(first); ip != "" {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
